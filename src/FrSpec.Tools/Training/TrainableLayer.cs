using System.Numerics.Tensors;

namespace FrSpec.Training;

/// <summary>Shape of one decoder layer.</summary>
public sealed record LayerShape(int Hidden, int Intermediate, int Heads, int KvHeads, int HeadDim, float Eps, bool QkvBias, bool InputNorm);

/// <summary>
/// One Llama/Qwen2 decoder layer with parameters, forward that keeps its activations, and a hand-written backward:
/// h = x + Wo·Attn(RoPE(Wq·n1), RoPE(Wk·n1), Wv·n1) with n1 = RMSNorm(x) (or n1 = x for an EAGLE layer),
/// out = h + Wd·(silu(Wg·n2) ⊙ Wu·n2) with n2 = RMSNorm(h).
/// Buffers are sized for a fixed batch × sequence at construction.
/// </summary>
public sealed class TrainableLayer
{
    public LayerShape Shape { get; }
    public Parameter? InputNorm { get; }
    public Parameter Wq { get; }
    public Parameter Wk { get; }
    public Parameter Wv { get; }
    public Parameter Wo { get; }
    public Parameter? Bq { get; }
    public Parameter? Bk { get; }
    public Parameter? Bv { get; }
    public Parameter PostNorm { get; }
    public Parameter Wg { get; }
    public Parameter Wu { get; }
    public Parameter Wd { get; }

    private readonly int _batch, _seq, _tokens;
    // saved activations
    private readonly float[] _x, _n1, _r1, _q, _k, _v, _probs, _att, _h, _n2, _r2, _g, _u, _a;
    // backward scratch
    private readonly float[] _dh, _dn, _da, _dg, _du, _datt, _dq, _dk, _dv, _row;

    public TrainableLayer(string prefix, LayerShape s, int batch, int seq)
    {
        Shape = s; _batch = batch; _seq = seq; _tokens = batch * seq;
        int H = s.Hidden, I = s.Intermediate, q = s.Heads * s.HeadDim, kv = s.KvHeads * s.HeadDim, T = _tokens;
        var p = Layout(prefix, s).ToDictionary(l => l.Name[prefix.Length..], l => new Parameter(l));
        InputNorm = p.GetValueOrDefault("input_layernorm.weight");
        (Wq, Wk, Wv) = (p["self_attn.q_proj.weight"], p["self_attn.k_proj.weight"], p["self_attn.v_proj.weight"]);
        (Bq, Bk, Bv) = (p.GetValueOrDefault("self_attn.q_proj.bias"), p.GetValueOrDefault("self_attn.k_proj.bias"), p.GetValueOrDefault("self_attn.v_proj.bias"));
        (Wo, PostNorm) = (p["self_attn.o_proj.weight"], p["post_attention_layernorm.weight"]);
        (Wg, Wu, Wd) = (p["mlp.gate_proj.weight"], p["mlp.up_proj.weight"], p["mlp.down_proj.weight"]);

        _x = new float[T * H]; _n1 = new float[T * H]; _r1 = new float[T]; _h = new float[T * H]; _n2 = new float[T * H]; _r2 = new float[T];
        _q = new float[T * q]; _att = new float[T * q]; _k = new float[T * kv]; _v = new float[T * kv];
        _probs = new float[(long)batch * s.Heads * seq * seq];
        _g = new float[T * I]; _u = new float[T * I]; _a = new float[T * I];
        _dh = new float[T * H]; _dn = new float[T * H]; _da = new float[T * I]; _dg = new float[T * I]; _du = new float[T * I];
        _datt = new float[T * q]; _dq = new float[T * q]; _dk = new float[T * kv]; _dv = new float[T * kv]; _row = new float[Math.Max(H, 16)];
    }

    /// <summary>The parameters of a layer of shape <paramref name="s"/> saved under <paramref name="prefix"/>, in <see cref="Parameters"/> order.</summary>
    public static IEnumerable<ParameterLayout> Layout(string prefix, LayerShape s)
    {
        int H = s.Hidden, I = s.Intermediate, q = s.Heads * s.HeadDim, kv = s.KvHeads * s.HeadDim;
        if (s.InputNorm) yield return new(prefix + "input_layernorm.weight", [H], Decay: false);
        yield return new(prefix + "self_attn.q_proj.weight", [q, H], Decay: true);
        yield return new(prefix + "self_attn.k_proj.weight", [kv, H], Decay: true);
        yield return new(prefix + "self_attn.v_proj.weight", [kv, H], Decay: true);
        if (s.QkvBias)
        {
            yield return new(prefix + "self_attn.q_proj.bias", [q], Decay: false);
            yield return new(prefix + "self_attn.k_proj.bias", [kv], Decay: false);
            yield return new(prefix + "self_attn.v_proj.bias", [kv], Decay: false);
        }
        yield return new(prefix + "self_attn.o_proj.weight", [H, q], Decay: true);
        yield return new(prefix + "post_attention_layernorm.weight", [H], Decay: false);
        yield return new(prefix + "mlp.gate_proj.weight", [I, H], Decay: true);
        yield return new(prefix + "mlp.up_proj.weight", [I, H], Decay: true);
        yield return new(prefix + "mlp.down_proj.weight", [H, I], Decay: true);
    }

    public IEnumerable<Parameter> Parameters()
    {
        if (InputNorm != null) yield return InputNorm;
        yield return Wq; yield return Wk; yield return Wv;
        if (Bq != null) { yield return Bq; yield return Bk!; yield return Bv!; }
        yield return Wo; yield return PostNorm; yield return Wg; yield return Wu; yield return Wd;
    }

    /// <summary>GPT-2 style init: N(0, 0.02²) matrices, residual projections shrunk by 1/√(2·layers), norms 1, biases 0.</summary>
    public void Initialize(ulong seed, int totalLayers, float std = 0.02f)
    {
        float res = std / MathF.Sqrt(2f * totalLayers);
        InputNorm?.InitConstant(1f);
        PostNorm.InitConstant(1f);
        Wq.InitNormal(seed, std); Wk.InitNormal(seed, std); Wv.InitNormal(seed, std); Wo.InitNormal(seed, res);
        Wg.InitNormal(seed, std); Wu.InitNormal(seed, std); Wd.InitNormal(seed, res);
        Bq?.InitConstant(0f); Bk?.InitConstant(0f); Bv?.InitConstant(0f);
    }

    /// <summary>x [T, H] in, out [T, H] (may be the same array as x). cos/sin are RoPE tables [T, headDim/2].</summary>
    public void Forward(float[] x, float[] output, float[] cos, float[] sin)
    {
        var s = Shape;
        int T = _tokens, H = s.Hidden, I = s.Intermediate;
        Array.Copy(x, _x, T * H);
        if (InputNorm != null) RmsNormOp.Forward(_x, T, H, InputNorm.Value, s.Eps, _n1, _r1);
        else Array.Copy(_x, _n1, T * H);
        Linear.Forward(_n1, T, Wq, Bq, _q);
        Linear.Forward(_n1, T, Wk, Bk, _k);
        Linear.Forward(_n1, T, Wv, Bv, _v);
        RopeOp.Apply(_q, T, s.Heads, s.HeadDim, cos, sin, inverse: false);
        RopeOp.Apply(_k, T, s.KvHeads, s.HeadDim, cos, sin, inverse: false);
        AttentionOp.Forward(_q, _k, _v, _batch, _seq, s.Heads, s.KvHeads, s.HeadDim, _probs, _att);
        Linear.Forward(_att, T, Wo, null, _h);
        TensorPrimitives.Add(_h.AsSpan(0, T * H), _x.AsSpan(0, T * H), _h.AsSpan(0, T * H));
        RmsNormOp.Forward(_h, T, H, PostNorm.Value, s.Eps, _n2, _r2);
        Linear.Forward(_n2, T, Wg, null, _g);
        Linear.Forward(_n2, T, Wu, null, _u);
        SwiGluOp.Forward(_g.AsSpan(0, T * I), _u.AsSpan(0, T * I), _a.AsSpan(0, T * I));
        Linear.Forward(_a, T, Wd, null, output);
        TensorPrimitives.Add(output.AsSpan(0, T * H), _h.AsSpan(0, T * H), output.AsSpan(0, T * H));
    }

    /// <summary>From dOut [T, H] (gradient w.r.t. the layer output) accumulates parameter gradients and writes dx [T, H] (may alias dOut).</summary>
    public void Backward(float[] dOut, float[] dx, float[] cos, float[] sin)
    {
        var s = Shape;
        int T = _tokens, H = s.Hidden, I = s.Intermediate;
        // out = h + Wd·a
        Array.Copy(dOut, _dh, T * H);
        Linear.Backward(_a, dOut, T, Wd, null, _da, accumulateDx: false);
        SwiGluOp.Backward(_g.AsSpan(0, T * I), _u.AsSpan(0, T * I), _da.AsSpan(0, T * I), _dg.AsSpan(0, T * I), _du.AsSpan(0, T * I));
        Linear.Backward(_n2, _dg, T, Wg, null, _dn, accumulateDx: false);
        Linear.Backward(_n2, _du, T, Wu, null, _dn, accumulateDx: true);
        RmsNormOp.Backward(_h, _dn, T, H, PostNorm.Value, _r2, PostNorm.Grad, _dh, accumulate: true, _row);
        // h = x + Wo·att
        Linear.Backward(_att, _dh, T, Wo, null, _datt, accumulateDx: false);
        AttentionOp.Backward(_q, _k, _v, _probs, _datt, _batch, _seq, s.Heads, s.KvHeads, s.HeadDim, _dq, _dk, _dv);
        RopeOp.Apply(_dq, T, s.Heads, s.HeadDim, cos, sin, inverse: true);
        RopeOp.Apply(_dk, T, s.KvHeads, s.HeadDim, cos, sin, inverse: true);
        Linear.Backward(_n1, _dq, T, Wq, Bq, _dn, accumulateDx: false);
        Linear.Backward(_n1, _dk, T, Wk, Bk, _dn, accumulateDx: true);
        Linear.Backward(_n1, _dv, T, Wv, Bv, _dn, accumulateDx: true);
        // dx = dh + d(n1)/dx · dn
        Array.Copy(_dh, dx, T * H);
        if (InputNorm != null) RmsNormOp.Backward(_x, _dn, T, H, InputNorm.Value, _r1, InputNorm.Grad, dx, accumulate: true, _row);
        else TensorPrimitives.Add(dx.AsSpan(0, T * H), _dn.AsSpan(0, T * H), dx.AsSpan(0, T * H));
    }
}
