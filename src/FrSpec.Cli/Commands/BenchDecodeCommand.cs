using System.CommandLine;
using System.Diagnostics;
using FrSpec.Model;

namespace FrSpec.Cli.Commands;

/// <summary>`frspec bench decode`: decode tokens/s, weight bytes read per token and the implied bandwidth.</summary>
public sealed class BenchDecodeCommand : ICliVerb
{
    public string Parent => "bench";

    public Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model directory (e.g. the llama-3.2-1b preset in bf16)", Required = true };
        var tokens = new Option<int>("--tokens") { Description = "Decode steps per repetition", DefaultValueFactory = _ => 32 };
        var reps = new Option<int>("--repeat") { Description = "Repetitions (median reported)", DefaultValueFactory = _ => 5 };
        var cmd = new Command("decode", "Measure single-token decode speed and effective memory bandwidth") { model, tokens, reps };
        cmd.SetAction(pr =>
        {
            using var m = Transformer.Load(pr.GetValue(model)!);
            int steps = pr.GetValue(tokens), repeat = pr.GetValue(reps);
            var cache = m.CreateCache(steps + 8);
            var logits = new float[m.Config.VocabSize];
            long bytes = m.WeightBytesPerToken();
            var perToken = new List<double>();
            Span<int> tok = stackalloc int[1];
            Span<int> pos = stackalloc int[1];
            for (int r = 0; r <= repeat; r++) // repetition 0 warms up (page faults, JIT)
            {
                cache.Clear();
                var sw = Stopwatch.StartNew();
                for (int i = 0; i < steps; i++)
                {
                    tok[0] = (i * 7919 + 13) % m.Config.VocabSize; pos[0] = i;
                    var h = m.Forward(cache, tok, pos);
                    cache.CommitAll();
                    m.Head.Compute(h, 1, logits);
                }
                if (r > 0) perToken.Add(sw.Elapsed.TotalSeconds / steps);
            }
            perToken.Sort();
            double median = perToken[perToken.Count / 2], best = perToken[0];
            Console.WriteLine($"model            {m.Directory}");
            Console.WriteLine($"weights          {m.Head.Weight.Type}, {bytes / 1e9:F3} GB read per token");
            Console.WriteLine($"threads          {Numerics.WorkerPool.Shared.Threads}");
            Console.WriteLine($"decode           {1 / median:F2} tokens/s median, {1 / best:F2} best ({repeat} x {steps} tokens)");
            Console.WriteLine($"bandwidth        {bytes / median / 1e9:F1} GB/s median, {bytes / best / 1e9:F1} GB/s best");
            return 0;
        });
        return cmd;
    }
}
