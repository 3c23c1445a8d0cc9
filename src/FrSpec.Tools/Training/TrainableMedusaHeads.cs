using FrSpec.Formats;
using FrSpec.Model;
using FrSpec.Numerics;

namespace FrSpec.Training;

/// <summary>
/// Medusa-1 heads in f32 for training (docs/formats.md, "Medusa heads"): head k maps the target's final-norm hidden
/// state h to x = h + SiLU(W_k·h + b_k) (one ResBlock) and logits = L_k·x over the vocabulary, L_k an LM head of its
/// own started from the target's, as Medusa initialises it (W_k starts at zero, so every head starts as the target's
/// next-token head). The target is frozen: h receives no gradient. Saved in Medusa's layout ({k}.0.linear.*, {k}.1.weight).
/// </summary>
public sealed class TrainableMedusaHeads
{
    public int Count { get; }
    public int Hidden { get; }
    public int Vocab { get; }
    public Parameter[] W { get; }
    public Parameter[] B { get; }
    public Parameter[] Head { get; }

    private readonly float[][] _z; // pre-activation W·h + b of the last forward, per head

    public TrainableMedusaHeads(int heads, int hidden, int vocab, int maxRows)
    {
        Count = heads; Hidden = hidden; Vocab = vocab;
        W = Enumerable.Range(0, heads).Select(k => new Parameter($"{k}.0.linear.weight", [hidden, hidden], decay: true)).ToArray();
        B = Enumerable.Range(0, heads).Select(k => new Parameter($"{k}.0.linear.bias", [hidden], decay: false)).ToArray();
        Head = Enumerable.Range(0, heads).Select(k => new Parameter($"{k}.1.weight", [vocab, hidden], decay: false)).ToArray();
        _z = Enumerable.Range(0, heads).Select(_ => new float[maxRows * hidden]).ToArray();
    }

    public IEnumerable<Parameter> Parameters()
    {
        for (int k = 0; k < Count; k++) { yield return W[k]; yield return B[k]; yield return Head[k]; }
    }

    /// <summary>Medusa's start: ResBlocks at zero (identity heads), LM heads copies of the target's [V, H] head.</summary>
    public void Initialize(float[] targetHead)
    {
        for (int k = 0; k < Count; k++)
        {
            W[k].InitConstant(0f);
            B[k].InitConstant(0f);
            targetHead.CopyTo(Head[k].Value, 0);
        }
    }

    /// <summary>x = h + SiLU(W_k·h + b_k) for <paramref name="rows"/> rows of h [rows, H] (keeps W·h + b for backward).</summary>
    public void Forward(int k, ReadOnlySpan<float> h, int rows, float[] x)
    {
        int H = Hidden;
        var z = _z[k];
        Linear.Forward(h, rows, W[k], B[k], z);
        for (int i = 0; i < rows * H; i++) x[i] = h[i] + z[i] / (1f + MathF.Exp(-z[i]));
    }

    /// <summary>Accumulates W_k and b_k gradients from dLoss/dx (h is frozen). <paramref name="dx"/> is overwritten.</summary>
    public void Backward(int k, ReadOnlySpan<float> h, int rows, float[] dx)
    {
        var z = _z[k];
        for (int i = 0; i < rows * Hidden; i++)
        {
            float s = 1f / (1f + MathF.Exp(-z[i]));
            dx[i] *= s * (1f + z[i] * (1f - s)); // SiLU'(z) = σ(z)·(1 + z·(1 − σ(z)))
        }
        Linear.Backward(h, dx, rows, W[k], B[k], Span<float>.Empty, accumulateDx: false);
    }

    /// <summary>Writes config.json and medusa_lm_head.safetensors in Medusa's layout.</summary>
    public void Save(string dir, ModelConfig target, string targetDir, DType dtype)
    {
        var blobs = Parameters().Select(p => TensorBlob.FromFloats(p.Name, p.Shape, p.Value, dtype)).ToList();
        Synthesis.MedusaSynthesizer.WriteFiles(dir, target, Path.GetFullPath(targetDir), Count, 1, blobs, "safetensors");
    }
}
