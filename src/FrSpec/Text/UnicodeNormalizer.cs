using System.Reflection;
using System.Text;

namespace FrSpec.Text;

/// <summary>
/// Canonical Unicode normalization (NFC, NFD) from embedded Unicode 15 data. Our own because the runtime's
/// string.Normalize does nothing in invariant-globalization mode (how FrSpec runs), and tokenizers such as Qwen2's
/// declare an NFC normalizer.
/// </summary>
internal static class UnicodeNormalizer
{
    private const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7;
    private const int LCount = 19, VCount = 21, TCount = 28, NCount = VCount * TCount, SCount = LCount * NCount;

    private sealed class Data
    {
        public readonly Dictionary<int, byte> Ccc = new();
        public readonly Dictionary<int, int[]> Decomposition = new();   // full (recursive) canonical decomposition
        public readonly Dictionary<long, int> Composition = new(PairKeyComparer.Instance);      // (first << 21 | second) -> primary composite
    }

    private static readonly Lazy<Data> Tables = new(Load);

    private static Data Load()
    {
        var d = new Data();
        var raw = new Dictionary<int, int[]>();
        var excluded = new HashSet<int>();
        using var stream = typeof(UnicodeNormalizer).Assembly.GetManifestResourceStream("FrSpec.Text.Data.nfc-data.txt")
            ?? throw new InvalidOperationException("embedded resource FrSpec.Text.Data.nfc-data.txt is missing");
        using var reader = new StreamReader(stream);
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0 || line[0] == '#') continue;
            var f = line.Split(' ');
            switch (f[0])
            {
                case "c":
                    var r = f[1].Split('-');
                    int lo = Convert.ToInt32(r[0], 16), hi = Convert.ToInt32(r[^1], 16);
                    byte ccc = byte.Parse(f[2]);
                    for (int cp = lo; cp <= hi; cp++) d.Ccc[cp] = ccc;
                    break;
                case "d":
                    raw[Convert.ToInt32(f[1], 16)] = f.Skip(2).Select(x => Convert.ToInt32(x, 16)).ToArray();
                    break;
                case "x":
                    excluded.Add(Convert.ToInt32(f[1], 16));
                    break;
            }
        }
        foreach (var (cp, parts) in raw)
        {
            var full = new List<int>();
            Expand(cp, raw, full);
            d.Decomposition[cp] = full.ToArray();
            if (parts.Length == 2 && !excluded.Contains(cp))
                d.Composition[((long)parts[0] << 21) | (uint)parts[1]] = cp;
        }
        return d;
    }

    private static void Expand(int cp, Dictionary<int, int[]> raw, List<int> into)
    {
        if (raw.TryGetValue(cp, out var parts)) foreach (var p in parts) Expand(p, raw, into);
        else into.Add(cp);
    }

    /// <summary>NFC of <paramref name="s"/> (unpaired surrogates are kept as they are).</summary>
    public static string Nfc(string s) => Normalize(s, compose: true);

    /// <summary>NFD of <paramref name="s"/>.</summary>
    public static string Nfd(string s) => Normalize(s, compose: false);

    private static string Normalize(string s, bool compose)
    {
        // Below U+0300 every character is its own NFC/NFD form and never combines with a neighbour.
        int firstHigh = 0;
        while (firstHigh < s.Length && s[firstHigh] < 0x300) firstHigh++;
        if (firstHigh == s.Length) return s;
        // Restart from the last character before the first non-trivial one: it may be a starter that composes.
        int start = Math.Max(0, firstHigh - 1);
        var d = Tables.Value;
        var cps = new List<int>(s.Length - start + 8);
        for (int i = start; i < s.Length; i++)
        {
            int cp = s[i];
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) cp = char.ConvertToUtf32(s[i], s[++i]);
            Decompose(cp, d, cps);
        }
        // Canonical ordering: stable sort of each run of non-starters by combining class.
        for (int i = 1; i < cps.Count; i++)
        {
            byte c = Ccc(cps[i], d);
            if (c == 0) continue;
            int j = i;
            int cp = cps[i];
            while (j > 0 && Ccc(cps[j - 1], d) > c) { cps[j] = cps[j - 1]; j--; }
            cps[j] = cp;
        }
        if (compose) Compose(cps, d);
        var sb = new StringBuilder(s.Length);
        sb.Append(s, 0, start);
        foreach (var cp in cps)
        {
            if (cp is >= 0xD800 and <= 0xDFFF) sb.Append((char)cp);
            else sb.Append(char.ConvertFromUtf32(cp));
        }
        return sb.ToString();
    }

    private static byte Ccc(int cp, Data d) => d.Ccc.TryGetValue(cp, out var c) ? c : (byte)0;

    private static void Decompose(int cp, Data d, List<int> into)
    {
        if (cp is >= SBase and < SBase + SCount)
        {
            int sIndex = cp - SBase;
            into.Add(LBase + sIndex / NCount);
            into.Add(VBase + sIndex % NCount / TCount);
            int t = sIndex % TCount;
            if (t != 0) into.Add(TBase + t);
            return;
        }
        if (d.Decomposition.TryGetValue(cp, out var parts)) into.AddRange(parts);
        else into.Add(cp);
    }

    /// <summary>The canonical composition algorithm (UAX #15): compose each character with the last starter unless blocked.</summary>
    private static void Compose(List<int> cps, Data d)
    {
        int starter = -1, write = 0, lastCcc = 0;
        bool between = false;   // an uncomposed character sits between the starter and the current one
        for (int i = 0; i < cps.Count; i++)
        {
            int cp = cps[i];
            byte ccc = Ccc(cp, d);
            // After canonical ordering the last character between is the one with the highest class.
            if (starter >= 0 && !(between && (lastCcc == 0 || lastCcc >= ccc)))
            {
                int composite = ComposePair(cps[starter], cp, d);
                if (composite >= 0) { cps[starter] = composite; continue; }
            }
            if (ccc == 0) { starter = write; between = false; }
            else { between = true; lastCcc = ccc; }
            cps[write++] = cp;
        }
        cps.RemoveRange(write, cps.Count - write);
    }

    private static int ComposePair(int a, int b, Data d)
    {
        if (a is >= LBase and < LBase + LCount && b is >= VBase and < VBase + VCount)
            return SBase + ((a - LBase) * VCount + (b - VBase)) * TCount;
        if (a is >= SBase and < SBase + SCount && (a - SBase) % TCount == 0 && b is > TBase and < TBase + TCount)
            return a + (b - TBase);
        return d.Composition.TryGetValue(((long)a << 21) | (uint)b, out var c) ? c : -1;
    }
}
