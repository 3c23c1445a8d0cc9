using FrSpec.Training;

namespace FrSpec.Tests.Training;

/// <summary>Tiny configurations and helpers shared by the training tests.</summary>
internal static class TinyTraining
{
    public static TrainConfig Config(int steps = 6) => new()
    {
        Family = "qwen2", HiddenSize = 16, IntermediateSize = 24, Layers = 2, Heads = 4, KvHeads = 2, VocabSize = 61,
        Steps = steps, BatchSize = 2, SeqLen = 7, Lr = 1e-2, MinLr = 1e-3, WarmupSteps = 2, EvalEvery = 3, EvalWindows = 2,
        CheckpointEvery = 100, LogEvery = 1, SaveDtype = "f32", EosTokenIds = [1], DocumentSeparatorId = 1, Seed = 7,
    };

    /// <summary>A token stream with some structure (a noisy counter) so losses move.</summary>
    public static TokenStream Stream(int length, int vocab, int seed)
    {
        var r = new Random(seed);
        var t = new int[length];
        for (int i = 1; i < length; i++) t[i] = r.Next(4) == 0 ? r.Next(vocab) : (t[i - 1] + 3) % vocab;
        return new TokenStream(t);
    }

    /// <summary>Overwrites every parameter with larger random values than the default init, so gradients are well above float noise.</summary>
    public static void Randomize(IEnumerable<Parameter> parameters, int seed, float std = 0.4f)
    {
        var r = new Random(seed);
        foreach (var p in parameters)
        {
            bool norm = p.Name.Contains("norm");
            for (int i = 0; i < p.Length; i++) p.Value[i] = (norm ? 1f : 0f) + std * (float)(r.NextDouble() * 2 - 1);
        }
    }

    /// <summary>
    /// Central finite differences on a sample of coordinates of every parameter, against the analytic gradient
    /// (which <paramref name="lossAndGrad"/> must leave in Parameter.Grad when asked to).
    /// </summary>
    public static void CheckGradients(IReadOnlyList<Parameter> parameters, Func<bool, double> lossAndGrad, int perParam = 6, double h = 1e-2)
    {
        foreach (var p in parameters) p.ZeroGrad();
        lossAndGrad(true);
        var analytic = parameters.Select(p => (float[])p.Grad.Clone()).ToArray();
        var r = new Random(3);
        int checkedCount = 0;
        for (int k = 0; k < parameters.Count; k++)
        {
            var p = parameters[k];
            // the coordinates with the largest gradients plus random ones
            var idx = Enumerable.Range(0, p.Length).OrderByDescending(i => Math.Abs(analytic[k][i])).Take(perParam / 2)
                .Concat(Enumerable.Range(0, perParam / 2).Select(_ => r.Next(p.Length))).Distinct();
            foreach (int i in idx)
            {
                float orig = p.Value[i];
                p.Value[i] = orig + (float)h; double up = lossAndGrad(false);
                p.Value[i] = orig - (float)h; double down = lossAndGrad(false);
                p.Value[i] = orig;
                double numeric = (up - down) / (2 * h);
                double a = analytic[k][i];
                Assert.True(Math.Abs(numeric - a) <= 2e-3 + 0.03 * Math.Abs(numeric),
                    $"{p.Name}[{i}]: analytic {a:G6}, finite difference {numeric:G6}");
                checkedCount++;
            }
        }
        Assert.True(checkedCount > parameters.Count);
    }
}
