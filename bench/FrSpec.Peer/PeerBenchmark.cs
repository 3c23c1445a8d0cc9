using System.Diagnostics;

namespace FrSpec.Peer;

/// <summary>
/// Decode and batch-N throughput of several engines, measured in interleaved rounds (engine A, B, A, B, ... with the
/// order flipped every round) so slow phases of a shared machine hit both engines alike; medians over rounds.
/// </summary>
internal sealed class PeerBenchmark(int decodeTokens, int[] batchSizes, int contextTokens)
{
    /// <summary>Per engine, per metric name: tokens/s of each round.</summary>
    public Dictionary<string, Dictionary<string, List<double>>> Samples { get; } = new();

    public IReadOnlyList<string> Metrics => new[] { $"decode ({decodeTokens} tokens)" }.Concat(batchSizes.Select(BatchName)).ToList();

    private static string BatchName(int n) => $"batch-{n} (all logits)";

    public void Warmup(IPeerEngine e)
    {
        var logits = new float[batchSizes.DefaultIfEmpty(1).Max() * e.VocabSize];
        e.Clear();
        e.Run(Tokens(contextTokens, e.VocabSize, 1), false, logits);
        for (int i = 0; i < 4; i++) e.Run([Token(i, e.VocabSize)], false, logits);
        foreach (int n in batchSizes) { int len = e.Length; e.Run(Tokens(n, e.VocabSize, 2), true, logits); e.Truncate(len); }
        e.Clear();
    }

    public void Round(IPeerEngine e)
    {
        var s = Samples.TryGetValue(e.Name, out var d) ? d : Samples[e.Name] = new();
        var logits = new float[Math.Max(1, batchSizes.DefaultIfEmpty(1).Max()) * e.VocabSize];
        var prompt = Tokens(contextTokens, e.VocabSize, 1);

        // decode: a short prompt, then single tokens with the full LM head each step
        e.Clear();
        e.Run(prompt, false, logits);
        int[] one = new int[1];
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < decodeTokens; i++)
        {
            one[0] = Token(i, e.VocabSize);
            e.Run(one, false, logits);
        }
        Add(s, $"decode ({decodeTokens} tokens)", decodeTokens / sw.Elapsed.TotalSeconds);

        // batch-N: N new tokens after the prompt, logits for all N (what verifying a draft needs), then dropped again
        foreach (int n in batchSizes)
        {
            e.Truncate(contextTokens);
            var batch = Tokens(n, e.VocabSize, 100 + n);
            sw.Restart();
            e.Run(batch, true, logits);
            Add(s, BatchName(n), n / sw.Elapsed.TotalSeconds);
        }
        e.Clear();
    }

    private static void Add(Dictionary<string, List<double>> s, string k, double v)
    {
        if (!s.TryGetValue(k, out var l)) s[k] = l = new();
        l.Add(v);
    }

    public static double Median(List<double> xs)
    {
        var a = xs.OrderBy(x => x).ToArray();
        return a.Length == 0 ? double.NaN : a.Length % 2 == 1 ? a[a.Length / 2] : (a[a.Length / 2 - 1] + a[a.Length / 2]) / 2;
    }

    /// <summary>Deterministic token ids spread over the vocabulary (the work per token does not depend on the id).</summary>
    public static int Token(int i, int vocab) => (int)((i * 7919L + 13) % Math.Min(vocab, 128000));

    public static int[] Tokens(int n, int vocab, int seed)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => r.Next(Math.Min(vocab, 128000))).ToArray();
    }
}
