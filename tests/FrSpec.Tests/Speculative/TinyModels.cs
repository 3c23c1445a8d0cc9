using FrSpec.Numerics;
using FrSpec.Synthesis;

namespace FrSpec.Tests.Speculative;

/// <summary>Tiny seeded target models and EAGLE heads written once per test run into a temp folder.</summary>
internal static class TinyModels
{
    private static readonly string Root = Path.Combine(TestTemp.Root, "spec");
    private static readonly object Gate = new();
    private static readonly Dictionary<string, string> Made = new();

    public static SynthSpec Spec(string family, bool tied, int vocab = 512, int layers = 2, int hidden = 64) => new()
    {
        Family = family, HiddenSize = hidden, IntermediateSize = hidden * 2, Layers = layers, Heads = 4, KvHeads = 2, VocabSize = vocab,
        TieWordEmbeddings = tied, RopeTheta = family == "qwen2" ? 1000000.0 : 500000.0, MaxPositions = 4096, EosTokenIds = [vocab - 1],
    };

    /// <summary>A target model directory (f32 weights, so tree and sequential passes are bit-identical).</summary>
    public static string Target(string family, bool tied, ulong seed, int vocab = 512, int layers = 2, int hidden = 64, DType type = DType.F32)
    {
        string key = $"{family}-{(tied ? "tied" : "untied")}-{vocab}-{layers}-{hidden}-s{seed}" + (type == DType.F32 ? "" : $"-{type}");
        lock (Gate)
        {
            if (Made.TryGetValue(key, out var d)) return d;
            d = Path.Combine(Root, key);
            ModelSynthesizer.Write(Spec(family, tied, vocab, layers, hidden), d, type, seed);
            Made[key] = d;
            return d;
        }
    }

    /// <summary>A random EAGLE head for a target, in safetensors.</summary>
    public static string Head(string targetDir, ulong seed)
    {
        string key = $"{targetDir}-eagle-s{seed}";
        lock (Gate)
        {
            if (Made.TryGetValue(key, out var d)) return d;
            d = targetDir + $"-eagle-s{seed}";
            EagleSynthesizer.Write(targetDir, d, "safetensors", seed);
            Made[key] = d;
            return d;
        }
    }

    public static string NewDir(string name)
    {
        string d = Path.Combine(Root, name + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(d);
        return d;
    }
}
