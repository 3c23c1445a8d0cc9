using FrSpec.Formats;
using FrSpec.Model;

namespace FrSpec.Tests.Model;

/// <summary>
/// A deliberately plain scalar implementation of the Llama/Qwen2 forward pass (double accumulation, no SIMD, no
/// cache, no masks), written straight from the HF modeling code's math. The optimized engine is tested against it.
/// Every projection takes its bias when the checkpoint has one (Qwen2's q/k/v, Llama's attention_bias and mlp_bias).
/// </summary>
public sealed class ReferenceTransformer
{
    private readonly ModelConfig _c;
    private readonly float[] _embed, _norm, _head;
    private readonly Layer[] _layers;

    private sealed class Layer
    {
        public float[] InNorm = [], Q = [], K = [], V = [], O = [], PostNorm = [], Gate = [], Up = [], Down = [];
        public float[]? QB, KB, VB, OB, GateB, UpB, DownB;
    }

    public ReferenceTransformer(string dir)
    {
        _c = ModelConfig.Load(dir);
        using var s = TensorStore.Open(dir);
        int h = _c.HiddenSize, hd = _c.HeadDim, q = _c.NumHeads * hd, kv = _c.NumKvHeads * hd, I = _c.IntermediateSize;
        _embed = s.Matrix("model.embed_tokens.weight", _c.VocabSize, h).ToFloatArray();
        _norm = s.Vector("model.norm.weight", h);
        _head = s.Contains("lm_head.weight") ? s.Matrix("lm_head.weight", _c.VocabSize, h).ToFloatArray() : _embed;
        _layers = new Layer[_c.NumLayers];
        for (int l = 0; l < _c.NumLayers; l++)
        {
            string p = $"model.layers.{l}.";
            _layers[l] = new Layer
            {
                InNorm = s.Vector(p + "input_layernorm.weight", h),
                Q = s.Matrix(p + "self_attn.q_proj.weight", q, h).ToFloatArray(),
                K = s.Matrix(p + "self_attn.k_proj.weight", kv, h).ToFloatArray(),
                V = s.Matrix(p + "self_attn.v_proj.weight", kv, h).ToFloatArray(),
                O = s.Matrix(p + "self_attn.o_proj.weight", h, q).ToFloatArray(),
                QB = s.OptionalVector(p + "self_attn.q_proj.bias", q),
                KB = s.OptionalVector(p + "self_attn.k_proj.bias", kv),
                VB = s.OptionalVector(p + "self_attn.v_proj.bias", kv),
                OB = s.OptionalVector(p + "self_attn.o_proj.bias", h),
                GateB = s.OptionalVector(p + "mlp.gate_proj.bias", I),
                UpB = s.OptionalVector(p + "mlp.up_proj.bias", I),
                DownB = s.OptionalVector(p + "mlp.down_proj.bias", h),
                PostNorm = s.Vector(p + "post_attention_layernorm.weight", h),
                Gate = s.Matrix(p + "mlp.gate_proj.weight", I, h).ToFloatArray(),
                Up = s.Matrix(p + "mlp.up_proj.weight", I, h).ToFloatArray(),
                Down = s.Matrix(p + "mlp.down_proj.weight", h, I).ToFloatArray(),
            };
        }
    }

    /// <summary>Logits [n][vocab] of a causal forward over the whole sequence, position i = i.</summary>
    public float[][] Logits(int[] tokens) => Run(tokens, null);

    /// <summary>The residual stream at the input of every layer: [layer][position][hidden] (EAGLE-3's target features).</summary>
    public double[][][] LayerInputs(int[] tokens)
    {
        var inputs = new List<double[][]>();
        Run(tokens, inputs);
        return inputs.ToArray();
    }

    private float[][] Run(int[] tokens, List<double[][]>? layerInputs)
    {
        int n = tokens.Length, h = _c.HiddenSize, hd = _c.HeadDim, nh = _c.NumHeads, nkv = _c.NumKvHeads;
        var x = new double[n][];
        for (int t = 0; t < n; t++) x[t] = Enumerable.Range(0, h).Select(i => (double)_embed[tokens[t] * h + i]).ToArray();
        var invFreq = InvFreq();
        foreach (var L in _layers)
        {
            layerInputs?.Add(x.Select(r => (double[])r.Clone()).ToArray());
            var qs = new double[n][]; var ks = new double[n][]; var vs = new double[n][];
            for (int t = 0; t < n; t++)
            {
                var xn = Norm(x[t], L.InNorm);
                qs[t] = Linear(xn, L.Q, nh * hd, L.QB);
                ks[t] = Linear(xn, L.K, nkv * hd, L.KB);
                vs[t] = Linear(xn, L.V, nkv * hd, L.VB);
                for (int hh = 0; hh < nh; hh++) RotateHalf(qs[t], hh * hd, hd, t, invFreq);
                for (int g = 0; g < nkv; g++) RotateHalf(ks[t], g * hd, hd, t, invFreq);
            }
            for (int t = 0; t < n; t++)
            {
                var attn = new double[nh * hd];
                for (int hh = 0; hh < nh; hh++)
                {
                    int g = hh / (nh / nkv);
                    var sc = new double[t + 1];
                    for (int j = 0; j <= t; j++)
                    {
                        double d = 0;
                        for (int i = 0; i < hd; i++) d += qs[t][hh * hd + i] * ks[j][g * hd + i];
                        sc[j] = d / Math.Sqrt(hd);
                    }
                    double max = sc.Max(), sum = 0;
                    for (int j = 0; j <= t; j++) { sc[j] = Math.Exp(sc[j] - max); sum += sc[j]; }
                    for (int j = 0; j <= t; j++)
                        for (int i = 0; i < hd; i++) attn[hh * hd + i] += sc[j] / sum * vs[j][g * hd + i];
                }
                var o = Linear(attn, L.O, h, L.OB);
                for (int i = 0; i < h; i++) x[t][i] += o[i];
            }
            for (int t = 0; t < n; t++)
            {
                var xn = Norm(x[t], L.PostNorm);
                var gate = Linear(xn, L.Gate, _c.IntermediateSize, L.GateB);
                var up = Linear(xn, L.Up, _c.IntermediateSize, L.UpB);
                for (int i = 0; i < gate.Length; i++) gate[i] = gate[i] / (1 + Math.Exp(-gate[i])) * up[i];
                var down = Linear(gate, L.Down, h, L.DownB);
                for (int i = 0; i < h; i++) x[t][i] += down[i];
            }
        }
        var logits = new float[n][];
        for (int t = 0; t < n; t++)
        {
            var xn = Norm(x[t], _norm);
            logits[t] = Linear(xn, _head, _c.VocabSize, null).Select(d => (float)d).ToArray();
        }
        return logits;
    }

    private double[] Norm(double[] x, float[] w)
    {
        double ss = x.Sum(v => v * v) / x.Length;
        double r = 1 / Math.Sqrt(ss + _c.RmsNormEps);
        return x.Select((v, i) => v * r * w[i]).ToArray();
    }

    private static double[] Linear(double[] x, float[] w, int outDim, float[]? b)
    {
        int inDim = x.Length;
        var y = new double[outDim];
        for (int o = 0; o < outDim; o++)
        {
            double s = b?[o] ?? 0;
            for (int i = 0; i < inDim; i++) s += x[i] * w[o * inDim + i];
            y[o] = s;
        }
        return y;
    }

    private double[] InvFreq()
    {
        int hd = _c.HeadDim;
        var f = new double[hd / 2];
        for (int i = 0; i < hd / 2; i++)
        {
            double v = 1.0 / Math.Pow(_c.RopeTheta, 2.0 * i / hd);
            if (_c.RopeScaling is { Type: "llama3" } s)
            {
                double wl = 2 * Math.PI / v, lo = s.OriginalMaxPositions / s.LowFreqFactor, hi = s.OriginalMaxPositions / s.HighFreqFactor;
                if (wl > lo) v /= s.Factor;
                else if (wl >= hi)
                {
                    double sm = (s.OriginalMaxPositions / wl - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
                    v = (1 - sm) * v / s.Factor + sm * v;
                }
            }
            f[i] = v;
        }
        return f;
    }

    private static void RotateHalf(double[] v, int off, int hd, int pos, double[] invFreq)
    {
        int half = hd / 2;
        for (int i = 0; i < half; i++)
        {
            double a = v[off + i], b = v[off + i + half], ang = pos * invFreq[i];
            v[off + i] = a * Math.Cos(ang) - b * Math.Sin(ang);
            v[off + i + half] = b * Math.Cos(ang) + a * Math.Sin(ang);
        }
    }
}
