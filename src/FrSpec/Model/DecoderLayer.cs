using System.Runtime.CompilerServices;
using FrSpec.Numerics;

namespace FrSpec.Model;

/// <summary>
/// One pre-norm Llama/Qwen2 decoder layer: h = x + Attn(RMSNorm(x)); out = h + MLP(RMSNorm(h)).
/// EAGLE draft layers have no input norm (<see cref="InputNorm"/> null): attention reads x directly.
/// </summary>
public sealed class DecoderLayer
{
    public float[]? InputNorm { get; init; }
    public required WeightMatrix QProj { get; init; }
    public required WeightMatrix KProj { get; init; }
    public required WeightMatrix VProj { get; init; }
    public required WeightMatrix OProj { get; init; }
    public float[]? QBias { get; init; }
    public float[]? KBias { get; init; }
    public float[]? VBias { get; init; }
    public float[]? OBias { get; init; }
    public required float[] PostAttentionNorm { get; init; }
    public required WeightMatrix GateProj { get; init; }
    public required WeightMatrix UpProj { get; init; }
    public required WeightMatrix DownProj { get; init; }
    public float[]? GateBias { get; init; }
    public float[]? UpBias { get; init; }
    public float[]? DownBias { get; init; }

    public int NumHeads { get; init; }
    public int NumKvHeads { get; init; }
    public int HeadDim { get; init; }
    public float Eps { get; init; }

    /// <summary>
    /// Loads layer <paramref name="prefix"/> (e.g. "model.layers.3.") from a store, validating every shape. The bias flags
    /// say which projections have biases (q/k/v, the output projection, the three MLP projections).
    /// <paramref name="attentionInput"/> is the width q/k/v read (default: hidden; EAGLE-3's layer reads 2·hidden).
    /// </summary>
    public static DecoderLayer Load(Formats.ITensorSource s, string prefix, int hidden, int intermediate, int heads, int kvHeads, int headDim,
        float eps, bool qkvBias, bool outputBias = false, bool mlpBias = false, bool inputNorm = true, int? attentionInput = null)
    {
        int q = heads * headDim, kv = kvHeads * headDim, input = attentionInput ?? hidden;
        return new DecoderLayer
        {
            InputNorm = inputNorm ? s.Vector(prefix + "input_layernorm.weight", hidden) : null,
            QProj = s.Matrix(prefix + "self_attn.q_proj.weight", q, input),
            KProj = s.Matrix(prefix + "self_attn.k_proj.weight", kv, input),
            VProj = s.Matrix(prefix + "self_attn.v_proj.weight", kv, input),
            OProj = s.Matrix(prefix + "self_attn.o_proj.weight", hidden, q),
            QBias = qkvBias ? s.Vector(prefix + "self_attn.q_proj.bias", q) : null,
            KBias = qkvBias ? s.Vector(prefix + "self_attn.k_proj.bias", kv) : null,
            VBias = qkvBias ? s.Vector(prefix + "self_attn.v_proj.bias", kv) : null,
            OBias = outputBias ? s.Vector(prefix + "self_attn.o_proj.bias", hidden) : null,
            PostAttentionNorm = s.Vector(prefix + "post_attention_layernorm.weight", hidden),
            GateProj = s.Matrix(prefix + "mlp.gate_proj.weight", intermediate, hidden),
            UpProj = s.Matrix(prefix + "mlp.up_proj.weight", intermediate, hidden),
            DownProj = s.Matrix(prefix + "mlp.down_proj.weight", hidden, intermediate),
            GateBias = mlpBias ? s.Vector(prefix + "mlp.gate_proj.bias", intermediate) : null,
            UpBias = mlpBias ? s.Vector(prefix + "mlp.up_proj.bias", intermediate) : null,
            DownBias = mlpBias ? s.Vector(prefix + "mlp.down_proj.bias", hidden) : null,
            NumHeads = heads, NumKvHeads = kvHeads, HeadDim = headDim, Eps = eps,
        };
    }

    /// <summary>
    /// Runs n tokens through the layer, updating buffers.X (the residual stream) in place. The tokens' keys and
    /// values go to cache slots [firstSlot, firstSlot + n) of layer <paramref name="layer"/>. The rope tables for the
    /// n tokens must already be in buffers.Cos/Sin.
    /// </summary>
    internal void Forward(Compute c, ForwardBuffers b, int n, KvCache cache, int layer, int firstSlot, AttentionMask mask)
    {
        ProjectQkv(c, b, n);
        AttendAndFinish(c, b, n, cache, layer, firstSlot, mask);
    }

    /// <summary>
    /// As <see cref="Forward(Compute, ForwardBuffers, int, KvCache, int, int, AttentionMask)"/>, but q/k/v read
    /// <paramref name="attentionInput"/> [n, QProj.Cols] instead of the normed residual: EAGLE-3's draft layer attends
    /// over its [embedding | hidden] concatenation while its residual stream (buffers.X) stays the hidden state.
    /// </summary>
    internal void Forward(Compute c, ForwardBuffers b, ReadOnlySpan<float> attentionInput, int n, KvCache cache, int layer, int firstSlot, AttentionMask mask)
    {
        b.Profile?.Start();
        Project(c, b, attentionInput, n);
        AttendAndFinish(c, b, n, cache, layer, firstSlot, mask);
    }

    private void AttendAndFinish(Compute c, ForwardBuffers b, int n, KvCache cache, int layer, int firstSlot, AttentionMask mask)
    {
        b.RowWork.Rotate(c, this, b, n);
        // the stores stay on one thread: keys are stored transposed, 16 slots to a cache line, so rows written by two
        // threads would share lines
        for (int t = 0; t < n; t++) Store(b, t, cache, layer, firstSlot + t);
        b.Profile?.End(PassProfile.Phase.RopeAndCache);
        Attention.Compute(c, b.Q, b.Attn, n, NumHeads, NumKvHeads, HeadDim, cache, layer, mask);
        b.Profile?.End(PassProfile.Phase.Attention);
        OutputAndMlp(c, b, n);
    }

    // The three parts of a layer pass, shared with the batched pass (BatchedForward), where the n rows belong to
    // different sequences: each row's keys and values go to its own cache, and its attention reads that cache.

    /// <summary>Input norm and the q/k/v projections of n rows of buffers.X into buffers.Q/K/V.</summary>
    internal void ProjectQkv(Compute c, ForwardBuffers b, int n)
    {
        var profile = b.Profile;
        profile?.Start();
        b.RowWork.Norm(c, b, n, InputNorm, Eps);
        profile?.End(PassProfile.Phase.Norms);
        Project(c, b, b.Normed.AsSpan(0, n * DownProj.Rows), n);
    }

    /// <summary>The q/k/v projections of n attention input rows [n, QProj.Cols] into buffers.Q/K/V (one pass over the
    /// shared input).</summary>
    private void Project(Compute c, ForwardBuffers b, ReadOnlySpan<float> input, int n)
    {
        MatMul.MultiplyShared(c, input, n, QProj, b.Q, QBias, KProj, b.K, KBias, VProj, b.V, VBias);
        b.Profile?.End(PassProfile.Phase.QkvProjections);
    }

    /// <summary>Rotates row t's query and key (rope tables of row t) and stores its key and value in cache slot <paramref name="slot"/>.</summary>
    internal void RopeAndStore(ForwardBuffers b, int t, KvCache cache, int layer, int slot)
    {
        Rotate(b, t);
        Store(b, t, cache, layer, slot);
    }

    /// <summary>Rotates row t's query and key heads with the rope tables of row t.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal void Rotate(ForwardBuffers b, int t)
    {
        int q = NumHeads * HeadDim, kv = NumKvHeads * HeadDim, half = HeadDim / 2;
        var cos = b.Cos.AsSpan(t * half, half);
        var sin = b.Sin.AsSpan(t * half, half);
        for (int h = 0; h < NumHeads; h++) Rope.Apply(b.Q.AsSpan(t * q + h * HeadDim, HeadDim), cos, sin);
        for (int g = 0; g < NumKvHeads; g++) Rope.Apply(b.K.AsSpan(t * kv + g * HeadDim, HeadDim), cos, sin);
    }

    /// <summary>Stores row t's (rotated) key and value heads in cache slot <paramref name="slot"/>.</summary>
    internal void Store(ForwardBuffers b, int t, KvCache cache, int layer, int slot)
    {
        int kv = NumKvHeads * HeadDim;
        for (int g = 0; g < NumKvHeads; g++)
            cache.Write(layer, g, slot, b.K.AsSpan(t * kv + g * HeadDim, HeadDim), b.V.AsSpan(t * kv + g * HeadDim, HeadDim));
    }

    /// <summary>Output projection of buffers.Attn and the residual add, then the MLP block and its residual add. The first
    /// add runs inside the MLP norm's pass (its time counts as the norm's in a <see cref="PassProfile"/>).</summary>
    internal void OutputAndMlp(Compute c, ForwardBuffers b, int n)
    {
        int hidden = DownProj.Rows;
        var normed = b.Normed.AsSpan(0, n * hidden);
        var profile = b.Profile;
        MatMul.Multiply(c, b.Attn, n, OProj, b.Tmp, OBias);
        profile?.End(PassProfile.Phase.OutputProjection);
        b.RowWork.AddAndNorm(c, b, n, PostAttentionNorm, Eps); // the residual add inside the norm's visit of each row
        profile?.End(PassProfile.Phase.Norms);
        MatMul.MultiplyShared(c, normed, n, GateProj, b.Gate, GateBias, UpProj, b.Up, UpBias);
        profile?.End(PassProfile.Phase.GateUpProjections);
        b.RowWork.SiluMul(c, b, n);
        profile?.End(PassProfile.Phase.Activation);
        MatMul.Multiply(c, b.Gate, n, DownProj, b.Tmp, DownBias);
        profile?.End(PassProfile.Phase.DownProjection);
        b.RowWork.Add(c, b, n);
        profile?.End(PassProfile.Phase.Residuals);
    }
}
