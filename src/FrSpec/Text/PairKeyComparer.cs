namespace FrSpec.Text;

/// <summary>
/// Hash for keys that pack two ids into a long. long's own hash (low ^ high) maps every pair (a, b) with a ^ b equal
/// to one bucket, which for BPE merge tables makes lookups crawl along long chains.
/// </summary>
internal sealed class PairKeyComparer : IEqualityComparer<long>
{
    public static readonly PairKeyComparer Instance = new();
    public bool Equals(long x, long y) => x == y;
    public int GetHashCode(long key) => (int)(((ulong)key * 0x9E3779B97F4A7C15UL) >> 32);
}
