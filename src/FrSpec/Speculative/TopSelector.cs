using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace FrSpec.Speculative;

/// <summary>
/// The m largest values of a span, best first, ties broken by the lower index (so the result is deterministic and a
/// tree parent, never scored below its child and always earlier, is ranked before it). Insertion into a short
/// sorted list: one pass, no allocation, and O(n) when m is small, which is every use here (k ≤ 64, T ≤ 1024).
/// Once m values are kept, a whole vector of values that holds none above the last kept one is skipped with one
/// comparison: a draft step scans tens of thousands of logits per row, and almost none of them enter. Compiled fully
/// optimized from the first call (a short benchmark or the first rounds would otherwise run tier-0 code).
/// </summary>
internal static class TopSelector
{
    /// <summary>Writes the indices of the top min(m, values.Length) values into indices (and their values); returns the count.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int Select(ReadOnlySpan<float> values, int m, Span<int> indices, Span<float> top)
    {
        m = Math.Min(m, values.Length);
        if (m <= 0) return 0;
        int count = 0, i = 0;
        for (; i < values.Length && count < m; i++) Insert(values[i], i, ref count, m, indices, top);
        if (Vector256.IsHardwareAccelerated)
        {
            ref float first = ref MemoryMarshal.GetReference(values);
            // a NaN compares false here, as the −∞ that Insert makes of it never enters a full list
            for (int w = Vector256<float>.Count; i + w <= values.Length; i += w)
                if (Vector256.GreaterThanAny(Vector256.LoadUnsafe(ref first, (nuint)i), Vector256.Create(top[m - 1])))
                    for (int j = i; j < i + w; j++) Insert(values[j], j, ref count, m, indices, top);
        }
        for (; i < values.Length; i++) Insert(values[i], i, ref count, m, indices, top);
        return count;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Insert(float v, int i, ref int count, int m, Span<int> indices, Span<float> top)
    {
        if (float.IsNaN(v)) v = float.NegativeInfinity;
        if (count == m && !(v > top[m - 1])) return;
        int pos = count < m ? count++ : m - 1;
        while (pos > 0 && top[pos - 1] < v) { top[pos] = top[pos - 1]; indices[pos] = indices[pos - 1]; pos--; }
        top[pos] = v; indices[pos] = i;
    }
}
