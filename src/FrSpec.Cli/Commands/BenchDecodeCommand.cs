using System.CommandLine;
using System.Diagnostics;
using FrSpec.Benchmarks;
using FrSpec.Model;
using FrSpec.Sessions;

namespace FrSpec.Cli.Commands;

/// <summary>
/// `frspec bench decode`: decode tokens/s, weight bytes read per token and the implied bandwidth, beside the
/// machine's measured read bandwidth from the same run, and each weight type's products alone (<see cref="WeightTypeStreams"/>)
/// against that bandwidth (the first weight mode's model). With --weights both, mapped and huge-page weights alternate.
/// Decode rounds alternate with read passes (same threads and page size as the weights), and each round's share is taken
/// against the passes just before and after it (<see cref="PairedMeasurement"/>), which survives the host's drift.
/// </summary>
public sealed class BenchDecodeCommand : ICliVerb
{
    public string Parent => "bench";

    public Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model directory (e.g. the llama-3.2-1b preset in bf16)", Required = true };
        var tokens = new Option<int>("--tokens") { Description = "Decode steps per round", DefaultValueFactory = _ => 32 };
        var reps = new Option<int>("--repeat") { Description = "Rounds (median reported)", DefaultValueFactory = _ => 5 };
        var weights = new Option<string>("--weights") { Description = "hugepages, mmap or both (alternating rounds)", DefaultValueFactory = _ => "both" };
        var cmd = new Command("decode", "Measure single-token decode speed against the memory-bandwidth roofline") { model, tokens, reps, weights };
        cmd.SetAction(pr =>
        {
            string dir = pr.GetValue(model)!, mode = pr.GetValue(weights)!;
            var modes = mode switch
            {
                "both" => new[] { WeightMemory.HugePages, WeightMemory.Mapped },
                "mmap" => new[] { WeightMemory.Mapped },
                "hugepages" => new[] { WeightMemory.HugePages },
                _ => throw new FrSpecException($"--weights: expected hugepages, mmap or both, got '{mode}'"),
            };
            var loaded = modes.Select(m => LanguageModel.Load(dir, Support.CliEngineOptions.FromEnvironment() with { WeightMemory = m })).ToArray();
            var models = loaded.Select(m => m.Target).ToArray();
            try
            {
                int steps = pr.GetValue(tokens), repeat = pr.GetValue(reps);
                long bytes = models[0].WeightBytesPerToken();
                var samples = models.Select(_ => new List<double>()).ToArray();
                // each round follows a read probe with its model's threads and page size; one more probe ends the run, so every
                // measured round r has probes r (before) and r + 1 (after) of its model (PairedMeasurement). A probe is
                // ProbePasses passes over 1 GiB (~0.1 s), so that it covers a good part of the moment a round (~0.5 s) covers.
                var passes = models.Select(m => new MachineProbe.ReadPass(1L << 30, m.UsesHugePages, m.Compute.Pool)).ToArray();
                var probes = models.Select(_ => new List<double>()).ToArray();
                try
                {
                    for (int r = 0; r <= repeat; r++) // round 0 warms up (page faults, JIT)
                        for (int k = 0; k < models.Length; k++)
                        {
                            double p = passes[k].GBps(ProbePasses);
                            double s = Round(models[k], steps);
                            if (r > 0) { probes[k].Add(p); samples[k].Add(s); }
                        }
                    for (int k = 0; k < models.Length; k++) probes[k].Add(passes[k].GBps(ProbePasses));
                }
                finally { foreach (var p in passes) p.Dispose(); }
                var streams = WeightTypeStreams.Measure(models[0], 2 * repeat + 1);
                var bw = MachineProbe.ReadBandwidth(1L << 30, hugePages: true, repeats: 5);
                var bw4k = MachineProbe.ReadBandwidth(1L << 30, hugePages: false, repeats: 5);
                Console.WriteLine($"model        {dir}");
                // the types by bytes streamed (a Q4_K_M file is mostly Q4_K, with Q6_K for some matrices and the LM head)
                string types = string.Join(" + ", streams.Streams.OrderByDescending(t => t.Bytes).Select(t => t.Type));
                Console.WriteLine($"weights      {types}, {bytes / 1e9:F3} GB read per token, {models[0].Compute.Pool.Threads} threads, {models[0].Compute.Isa} kernels");
                Console.WriteLine($"machine      read bandwidth {bw.median:F1} GB/s median ({bw.best:F1} best) with huge pages, {bw4k.median:F1} ({bw4k.best:F1}) with 4 KiB pages");
                for (int k = 0; k < models.Length; k++)
                {
                    var l = samples[k];
                    double median = PairedMeasurement.Median(l), best = l.Min();
                    var rates = l.Select(sec => bytes / sec / 1e9).ToArray();
                    var shares = PairedMeasurement.Shares(rates, probes[k]);
                    string label = models[k].UsesHugePages ? "huge pages" : "mmap";
                    Console.WriteLine($"decode       {label,-10}  {1 / median:F2} tokens/s median, {1 / best:F2} best  = {bytes / median / 1e9:F1} GB/s median, {bytes / best / 1e9:F1} best"
                        + $"  ({100 * bytes / median / 1e9 / bw.median:F0}% of the median, {100 * bytes / median / 1e9 / bw.best:F0}% of the best bandwidth measured after the rounds)");
                    Console.WriteLine($"decode       {label,-10}  paired: {100 * PairedMeasurement.Median(shares):F0}% of the read bandwidth of its own moment (median over {shares.Length} rounds"
                        + $" of each round against the mean of the read probes ({ProbePasses} passes over 1 GiB) just before and after it; rounds {100 * shares.Min():F0}–{100 * shares.Max():F0}%,"
                        + $" probes {probes[k].Min():F1}–{probes[k].Max():F1} GB/s)");
                }
                Console.WriteLine($"by type      products of one weight type alone, 1 row, medians of {2 * repeat + 1} rounds, each after a read pass over 1 GiB: {streams.BandwidthGBps:F1} GB/s median");
                foreach (var st in streams.Streams)
                    Console.WriteLine($"by type      {st.Type,-5} {st.Matrices,3} matrices, {st.Bytes / 1e9:F3} GB: {1e3 * st.MedianSeconds:F2} ms = {st.GBps:F1} GB/s"
                        + $"  ({100 * st.GBps / streams.BandwidthGBps:F0}% of the interleaved read bandwidth; the same matrices read in the same split: {st.SameReadGBps:F1} GB/s,"
                        + $" {100 * st.SameReadGBps / streams.BandwidthGBps:F0}% of it, products {100 * st.GBps / st.SameReadGBps:F0}% of that read)"
                        + (st.InCacheGBps is { } c ? $"; one thread's kernel with the weights in cache: {c:F1} GB/s" : ""));
            }
            finally { foreach (var m in loaded) m.Dispose(); }
            return 0;
        });
        return cmd;
    }

    /// <summary>Read passes over 1 GiB per bandwidth probe between decode rounds.</summary>
    private const int ProbePasses = 4;

    /// <summary>Seconds per token over one round of decode steps from an empty cache.</summary>
    private static double Round(Transformer m, int steps)
    {
        var cache = m.CreateCache(steps + 8);
        var state = m.CreateState();
        var logits = new float[m.Config.VocabSize];
        Span<int> tok = stackalloc int[1];
        Span<int> pos = stackalloc int[1];
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < steps; i++)
        {
            tok[0] = (i * 7919 + 13) % m.Config.VocabSize; pos[0] = i;
            var h = m.Forward(state, cache, tok, pos);
            cache.CommitAll();
            m.Head.Compute(h, 1, logits);
        }
        return sw.Elapsed.TotalSeconds / steps;
    }
}
