using System.Runtime.InteropServices;
using FrSpec.Generation;
using FrSpec.Text;

namespace FrSpec.Training;

/// <summary>
/// Training tokens as one long stream (documents joined by a separator token) and the batches drawn from it.
/// Batch k is a pure function of (seed, k): windows start at positions drawn from an RNG seeded with both, so a
/// resumed run sees exactly the batches the uninterrupted run would have.
/// </summary>
public sealed class TokenStream
{
    public int[] Tokens { get; }

    public TokenStream(int[] tokens) { Tokens = tokens; }

    /// <summary>
    /// Tokenizes documents from the files (shuffled with the seed, so every domain is represented) until at least
    /// <paramref name="maxTokens"/> tokens are collected (0 = everything).
    /// </summary>
    public static TokenStream FromCorpus(IEnumerable<string> files, ITokenizer tokenizer, int separatorId, ulong seed, long maxTokens, Action<string>? log = null)
    {
        var docs = new List<string>();
        docs.AddRange(new Formats.Corpus.CorpusReader(files.ToList()).Documents());
        if (docs.Count == 0) throw new FrSpecException($"no documents in {string.Join(", ", files)}");
        var rng = new Rng(seed);
        for (int i = docs.Count - 1; i > 0; i--) { int j = (int)(rng.NextDouble() * (i + 1)); (docs[i], docs[j]) = (docs[j], docs[i]); }
        var tokens = new List<int>();
        const int Block = 64;
        for (int start = 0; start < docs.Count && (maxTokens <= 0 || tokens.Count < maxTokens); start += Block)
        {
            int n = Math.Min(Block, docs.Count - start);
            var enc = new int[n][];
            Parallel.For(0, n, i => enc[i] = tokenizer.Encode(docs[start + i]));
            foreach (var e in enc) { tokens.AddRange(e); tokens.Add(separatorId); }
            log?.Invoke($"tokenized {start + n}/{docs.Count} documents, {tokens.Count:N0} tokens");
        }
        return new TokenStream(tokens.ToArray());
    }

    /// <summary>Fills <paramref name="windows"/> [batch, len] with windows for batch number <paramref name="step"/>.</summary>
    public void Batch(ulong seed, int step, int batch, int len, Span<int> windows)
    {
        if (Tokens.Length < len) throw new FrSpecException($"the corpus has {Tokens.Length} tokens, fewer than one window of {len}");
        var rng = new Rng(seed * 0x9E3779B97F4A7C15UL + (ulong)step + 1);
        for (int b = 0; b < batch; b++)
        {
            int start = (int)(rng.NextDouble() * (Tokens.Length - len + 1));
            Tokens.AsSpan(start, len).CopyTo(windows.Slice(b * len, len));
        }
    }

    /// <summary>The i-th consecutive, non-overlapping window (validation).</summary>
    public int WindowCount(int len) => Tokens.Length / len;

    public void Window(int i, int len, Span<int> dst) => Tokens.AsSpan(i * len, len).CopyTo(dst);

    public void Save(string path)
    {
        using var fs = File.Create(path);
        fs.Write(MemoryMarshal.AsBytes(Tokens.AsSpan()));
    }

    public static TokenStream Load(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length % 4 != 0) throw new FrSpecException($"{path}: token cache length {bytes.Length} is not a multiple of 4");
        return new TokenStream(MemoryMarshal.Cast<byte, int>(bytes).ToArray());
    }
}
