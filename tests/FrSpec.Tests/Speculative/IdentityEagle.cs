using System.Runtime.InteropServices;
using FrSpec.Formats;
using FrSpec.Model;
using FrSpec.Numerics;
using FrSpec.Synthesis;

namespace FrSpec.Tests.Speculative;

/// <summary>
/// A one-layer target and an EAGLE head that reproduces it: the target's embedding rows have unit RMS and its input
/// norm is all ones with eps ≈ 0, so RMSNorm(e) = e, which is what the head's norm-less layer sees when fc = [I | 0]
/// selects the embedding half; the head's layer is the target's layer. The head's output is then the target's last
/// residual, and with a final norm of ones the draft logits are the target's logits times a positive factor, so the
/// draft ranks tokens exactly as the target does (draft positions are one less than target positions; RoPE only sees
/// differences). The draft is the target itself, run through the real EAGLE code path.
/// </summary>
internal static class IdentityEagle
{
    private static readonly Dictionary<string, (string, string)> Made = new();

    public static (string Target, string Head) Write(string family, int vocab, int hidden, ulong seed)
    {
        string key = $"{family}-{vocab}-{hidden}-{seed}";
        lock (Made)
        {
            if (!Made.TryGetValue(key, out var dirs)) Made[key] = dirs = Create(family, vocab, hidden, seed);
            return dirs;
        }
    }

    private static (string Target, string Head) Create(string family, int vocab, int hidden, ulong seed)
    {
        string target = TinyModels.NewDir($"identity-{family}-{vocab}-{hidden}-s{seed}");
        var spec = TinyModels.Spec(family, tied: false, vocab, layers: 1, hidden) with { RmsNormEps = 1e-12 };
        var tensors = new Dictionary<string, (long[] Shape, float[] Values)>();
        var order = new List<string>();
        foreach (var b in ModelSynthesizer.Tensors(spec, DType.F32, seed))
        {
            tensors[b.Name] = (b.Shape, MemoryMarshal.Cast<byte, float>(b.Produce()).ToArray());
            order.Add(b.Name);
        }
        var emb = tensors["model.embed_tokens.weight"].Values;
        for (int r = 0; r < vocab; r++)
        {
            var row = emb.AsSpan(r * hidden, hidden);
            double ms = 0;
            foreach (var x in row) ms += (double)x * x;
            float scale = (float)(1 / Math.Sqrt(ms / hidden));
            for (int i = 0; i < hidden; i++) row[i] *= scale;
        }
        Array.Fill(tensors["model.layers.0.input_layernorm.weight"].Values, 1f);
        Array.Fill(tensors["model.norm.weight"].Values, 1f);
        File.WriteAllText(Path.Combine(target, "config.json"), ModelSynthesizer.ConfigJson(spec, DType.F32));
        SafetensorsWriter.Write(Path.Combine(target, "model.safetensors"),
            order.Select(n => TensorBlob.FromFloats(n, tensors[n].Shape, tensors[n].Values, DType.F32)).ToList());

        string head = target + "-eagle";
        Directory.CreateDirectory(head);
        var cfg = ModelConfig.Load(target);
        bool qwen = family == "qwen2";
        File.WriteAllText(Path.Combine(head, "config.json"), EagleSynthesizer.ConfigJson(cfg, bias: false, qkvBias: qwen));
        var fc = new float[hidden * 2 * hidden];
        for (int i = 0; i < hidden; i++) fc[i * 2 * hidden + i] = 1f;
        var blobs = new List<TensorBlob> { TensorBlob.FromFloats("fc.weight", [hidden, 2 * hidden], fc, DType.F32) };
        foreach (var n in order)
            if (n.StartsWith("model.layers.0.") && !n.Contains("input_layernorm"))
                blobs.Add(TensorBlob.FromFloats(n["model.".Length..], tensors[n].Shape, tensors[n].Values, DType.F32));
        blobs.Add(TensorBlob.FromFloats("embed_tokens.weight", [vocab, hidden], emb, DType.F32));
        SafetensorsWriter.Write(Path.Combine(head, "model.safetensors"), blobs);
        return (target, head);
    }
}
