namespace FrSpec.Model;

/// <summary>
/// Which key/value slots each new token may attend to, over [cached + new] slots.
/// The first <see cref="PrefixLength"/> slots (usually the committed context) are visible to every new token;
/// visibility of the remaining slots (earlier uncommitted entries, e.g. a draft tree's ancestors, and the new
/// tokens themselves) is given bit by bit. Reusable: <see cref="Reset"/> keeps the buffer.
/// </summary>
public sealed class AttentionMask
{
    private ulong[] _bits = Array.Empty<ulong>();
    private int _wordsPerRow;

    /// <summary>Slots already in the cache (committed + pending) before the new tokens.</summary>
    public int Cached { get; private set; }
    /// <summary>Number of new tokens (rows).</summary>
    public int NewTokens { get; private set; }
    /// <summary>Leading slots visible to all rows.</summary>
    public int PrefixLength { get; private set; }
    public int TotalSlots => Cached + NewTokens;

    public AttentionMask(int cached, int newTokens, int prefixLength) => Reset(cached, newTokens, prefixLength);

    /// <summary>Clears the mask for a new shape: prefix visible, everything else hidden.</summary>
    public void Reset(int cached, int newTokens, int prefixLength)
    {
        if (cached < 0 || newTokens < 0 || prefixLength < 0 || prefixLength > cached)
            throw new ArgumentException($"invalid mask shape cached={cached} new={newTokens} prefix={prefixLength}");
        Cached = cached; NewTokens = newTokens; PrefixLength = prefixLength;
        _wordsPerRow = (cached + newTokens - prefixLength + 63) / 64;
        int words = _wordsPerRow * newTokens;
        if (_bits.Length < words) _bits = new ulong[Math.Max(words, _bits.Length * 2)];
        else Array.Clear(_bits, 0, words);
    }

    /// <summary>Lets new token <paramref name="row"/> attend to slot <paramref name="slot"/> (0 = first cache slot).</summary>
    public void Allow(int row, int slot)
    {
        if ((uint)row >= (uint)NewTokens || (uint)slot >= (uint)TotalSlots) throw new ArgumentOutOfRangeException(nameof(slot));
        if (slot < PrefixLength) return;
        int b = slot - PrefixLength;
        _bits[row * _wordsPerRow + (b >> 6)] |= 1UL << (b & 63);
    }

    public bool IsVisible(int row, int slot)
    {
        if (slot < PrefixLength) return true;
        int b = slot - PrefixLength;
        return (_bits[row * _wordsPerRow + (b >> 6)] >> (b & 63) & 1) != 0;
    }

    /// <summary>Copies row <paramref name="from"/>'s visibility into row <paramref name="to"/> (tree nodes inherit their parent's view).</summary>
    public void CopyRow(int from, int to)
    {
        Array.Copy(_bits, from * _wordsPerRow, _bits, to * _wordsPerRow, _wordsPerRow);
    }

    /// <summary>
    /// The mask a forward pass of n tokens over a cache of <paramref name="cached"/> slots uses: the caller's (checked to
    /// fit), or — when null — causal attention after everything cached, built in the reusable <paramref name="scratch"/>.
    /// </summary>
    internal static AttentionMask ForPass(AttentionMask? mask, ref AttentionMask? scratch, int cached, int n)
    {
        if (mask == null)
        {
            scratch ??= new AttentionMask(0, 0, 0);
            scratch.Reset(cached, n, cached);
            scratch.FillCausal();
            return scratch;
        }
        if (mask.Cached != cached || mask.NewTokens != n)
            throw new ArgumentException($"mask is for {mask.Cached} cached + {mask.NewTokens} new slots, cache has {cached}, tokens {n}");
        return mask;
    }

    /// <summary>Ordinary causal attention for n new tokens after all cached slots.</summary>
    public static AttentionMask Causal(int cached, int newTokens)
    {
        var m = new AttentionMask(cached, newTokens, cached);
        m.FillCausal();
        return m;
    }

    internal void FillCausal()
    {
        for (int i = 0; i < NewTokens; i++)
            for (int j = 0; j <= i; j++) Allow(i, Cached + j);
    }

    /// <summary>
    /// A tree over the new tokens: each token sees all cached slots, its ancestors and itself.
    /// parents[i] is the index of token i's parent among the new tokens, or -1 for a root; parents precede children.
    /// </summary>
    public static AttentionMask Tree(int cached, ReadOnlySpan<int> parents)
    {
        var m = new AttentionMask(cached, parents.Length, cached);
        m.FillTree(parents);
        return m;
    }

    /// <summary>Refills this mask as <see cref="Tree"/> would, reusing its buffer.</summary>
    public void FillTree(ReadOnlySpan<int> parents)
    {
        for (int i = 0; i < parents.Length; i++)
        {
            int p = parents[i];
            if (p >= i) throw new ArgumentException($"tree parent {p} of node {i} must precede it");
            if (p >= 0) CopyRow(p, i);
            Allow(i, Cached + i);
        }
    }
}
