namespace FrSpec.Fuzzing.Mutators;

/// <summary>
/// Structure-aware mutations of a GGUF file: header fields (counts, lengths, value and tensor types, dims, offsets,
/// alignment, version) set to boundary values or nudged, truncation, bit flips, inserted and deleted bytes in the header.
/// </summary>
internal static class GgufMutator
{
    /// <summary>A mutated copy of <paramref name="valid"/> (whose fields <paramref name="map"/> locates) and what was done.</summary>
    public static (byte[] Bytes, string What) Mutate(byte[] valid, GgufFieldMap map, Random rng)
    {
        int header = (int)map.HeaderEnd;
        switch (rng.Next(10))
        {
            case 0:
            {
                int cut = rng.Next(2) == 0 ? rng.Next(header + 64) : rng.Next(valid.Length);
                return (valid[..Math.Min(cut, valid.Length)], $"truncated to {cut} bytes");
            }
            case 1:
            {
                var b = (byte[])valid.Clone();
                int flips = 1 + rng.Next(4);
                for (int k = 0; k < flips; k++) b[rng.Next(header)] ^= (byte)(1 << rng.Next(8));
                return (b, $"{flips} bit flips in the header");
            }
            case 2:
            {
                int at = rng.Next(header), n = 1 + rng.Next(8);
                bool insert = rng.Next(2) == 0;
                var b = insert
                    ? valid[..at].Concat(Enumerable.Range(0, n).Select(_ => (byte)rng.Next(256))).Concat(valid[at..]).ToArray()
                    : valid[..at].Concat(valid[Math.Min(valid.Length, at + n)..]).ToArray();
                return (b, $"{(insert ? "inserted" : "deleted")} {n} bytes at {at}");
            }
            default:
            {
                var bytes = valid;
                var what = new List<string>();
                int fields = rng.Next(4) == 0 ? 2 : 1;
                var kinds = map.Fields.Select(x => x.Kind).Distinct().ToArray();
                for (int k = 0; k < fields; k++)
                {
                    // A kind first, then a field of it: string lengths of the vocabulary would otherwise drown the rest.
                    var kind = kinds[rng.Next(kinds.Length)];
                    var ofKind = map.Fields.Where(x => x.Kind == kind).ToArray();
                    var f = ofKind[rng.Next(ofKind.Length)];
                    ulong v = rng.Next(4) switch
                    {
                        0 => f.Value + 1,
                        1 => f.Value - 1,
                        2 => (ulong)rng.NextInt64() * 2 + (ulong)rng.Next(2),
                        _ => BinaryMutator.Boundary[rng.Next(BinaryMutator.Boundary.Length)],
                    };
                    if (f.Kind is GgufFieldMap.Kind.Offset && rng.Next(3) == 0) v = f.Value + 32UL * (ulong)rng.Next(-4, 5);
                    bytes = GgufFieldMap.Patch(bytes, f, v);
                    what.Add($"{f.Name} {f.Value} -> {v}");
                }
                return (bytes, string.Join(", ", what));
            }
        }
    }
}
