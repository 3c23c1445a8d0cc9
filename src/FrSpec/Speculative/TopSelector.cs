namespace FrSpec.Speculative;

/// <summary>
/// The m largest values of a span, best first, ties broken by the lower index (so the result is deterministic and a
/// tree parent, never scored below its child and always earlier, is ranked before it). Insertion into a short
/// sorted list: one pass, no allocation, and O(n) when m is small, which is every use here (k ≤ 64, T ≤ 1024).
/// </summary>
internal static class TopSelector
{
    /// <summary>Writes the indices of the top min(m, values.Length) values into indices (and their values); returns the count.</summary>
    public static int Select(ReadOnlySpan<float> values, int m, Span<int> indices, Span<float> top)
    {
        m = Math.Min(m, values.Length);
        if (m <= 0) return 0;
        int count = 0;
        for (int i = 0; i < values.Length; i++)
        {
            float v = values[i];
            if (float.IsNaN(v)) v = float.NegativeInfinity;
            if (count == m && !(v > top[m - 1])) continue;
            int pos = count < m ? count++ : m - 1;
            while (pos > 0 && top[pos - 1] < v) { top[pos] = top[pos - 1]; indices[pos] = indices[pos - 1]; pos--; }
            top[pos] = v; indices[pos] = i;
        }
        return count;
    }
}
