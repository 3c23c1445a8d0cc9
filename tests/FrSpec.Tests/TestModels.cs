using System.Collections.Concurrent;
using FrSpec.Numerics;
using FrSpec.Synthesis;

namespace FrSpec.Tests;

/// <summary>Small synthesized models for tests, written once per process into a temp folder.</summary>
public static class TestModels
{
    private static readonly ConcurrentDictionary<string, Lazy<string>> Cache = new();

    /// <summary>Llama-3.2 style: tied embeddings, llama3 rope scaling, GQA.</summary>
    public static SynthSpec TinyLlama(int vocab = 300) => new()
    {
        Family = "llama3", HiddenSize = 64, IntermediateSize = 160, Layers = 2, Heads = 4, KvHeads = 2, VocabSize = vocab,
        TieWordEmbeddings = true, Llama3RopeFactor = 32.0, MaxPositions = 131072, BosTokenId = 1, EosTokenIds = [2], RmsNormEps = 1e-5,
    };

    /// <summary>Qwen2 style: q/k/v biases, untied LM head, θ = 1e6.</summary>
    public static SynthSpec TinyQwen(int vocab = 300) => new()
    {
        Family = "qwen2", HiddenSize = 64, IntermediateSize = 160, Layers = 2, Heads = 4, KvHeads = 1, VocabSize = vocab,
        RopeTheta = 1000000.0, RmsNormEps = 1e-6, BosTokenId = 1, EosTokenIds = [2],
    };

    /// <summary>Directory of a synthesized model, created on first use.</summary>
    public static string Dir(SynthSpec spec, DType dtype = DType.F32, ulong seed = 1)
    {
        string key = $"{spec.GetHashCode():X8}-{spec.Family}-{spec.VocabSize}-{spec.HiddenSize}-{spec.Layers}-{dtype}-{seed}";
        return Cache.GetOrAdd(key, k => new Lazy<string>(() =>
        {
            string dir = Path.Combine(TestTemp.Root, k);
            ModelSynthesizer.Write(spec, dir, dtype, seed);
            return dir;
        })).Value;
    }

    public static string NewTempDir() => TestTemp.NewDir();
}
