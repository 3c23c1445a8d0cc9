using System.Text.Json.Nodes;
using FrSpec.Formats;
using FrSpec.Generation;
using FrSpec.Model;
using FrSpec.Sessions;
using FrSpec.Speculative;
using FrSpec.Synthesis;
using FrSpec.Tests.Model;

namespace FrSpec.Tests.Speculative;

/// <summary>
/// EAGLE-3: the target's layer capture against the scalar reference, the head's forward pass against a scalar
/// reference written from the published math (reading the tensors by name from the file, so a loader that swapped two
/// norms would fail), both layouts and containers, and the loader's errors.
/// </summary>
public class Eagle3Tests
{
    private const int Vocab = 300;
    private static string Target() => DrafterFixtures.Target("llama3", Vocab, layers: 8, hidden: 64, seed: 401);

    [Fact]
    public void CaptureHoldsTheInputsOfTheListedLayersFromTheSamePass()
    {
        string dir = Target();
        using var model = Transformer.Load(dir);
        var reference = new ReferenceTransformer(dir).LayerInputs([5, 17, 200, 3, 99, 42]);
        int[] layers = [2, 4, 5];
        Assert.Equal(layers, Eagle3Head.DefaultTargetLayers(8));
        var state = model.CreateState();
        state.Capture = new LayerCapture(layers, 8, 64);
        var cache = model.CreateCache(16);
        var hidden = model.Forward(state, cache, [5, 17, 200, 3, 99, 42], [0, 1, 2, 3, 4, 5]).ToArray();
        var rows = state.Capture.Rows(6);
        for (int t = 0; t < 6; t++)
            for (int j = 0; j < 3; j++)
                for (int i = 0; i < 64; i++)
                    Assert.Equal(reference[layers[j]][t][i], rows[t * 192 + j * 64 + i], 4);
        // the capture changes nothing else
        var plain = model.CreateState();
        var again = model.Forward(plain, model.CreateCache(16), [5, 17, 200, 3, 99, 42], [0, 1, 2, 3, 4, 5]).ToArray();
        Assert.Equal(again, hidden);
        Assert.Throws<FrSpecException>(() => new LayerCapture([2, 2], 8, 64));
        Assert.Throws<FrSpecException>(() => new LayerCapture([8], 8, 64));
    }

    [Fact]
    public void DefaultLayersFollowTheReference()
    {
        Assert.Equal([2, 16, 29], Eagle3Head.DefaultTargetLayers(32));
        Assert.Equal([2, 14, 25], Eagle3Head.DefaultTargetLayers(28));
        Assert.Equal([1, 2], Eagle3Head.DefaultTargetLayers(4)); // a shallow target yields fewer distinct layers
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ForwardMatchesTheScalarReference(bool normBeforeResidual)
    {
        string target = Target();
        string dir = TinyModels.NewDir("eagle3-ref");
        Eagle3Synthesizer.Write(target, dir, Eagle3Layout.Speculators, seed: 9);
        if (normBeforeResidual) EditConfig(dir, c => c["norm_before_residual"] = true);
        using var model = LanguageModel.Load(target);
        using var head = Eagle3Head.Load(dir, model.Target.Config);
        Assert.Equal(192, head.FeatureWidth);
        Assert.Equal(Vocab / 4, head.DraftVocabSize);

        int[] tokens = [7, 150, 33, 299, 12];
        var rng = new Rng(3);
        var features = Enumerable.Range(0, tokens.Length * 192).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray();
        var state = head.CreateState();
        var cache = head.CreateCache(16);
        var outputs = head.Forward(state, cache, model.Target.Embedding, tokens, features, [0, 1, 2, 3, 4], null, fromTarget: true).ToArray();
        cache.CommitAll();
        // one more step fed with the head's own last output (no fc), as tree expansion does
        var own = head.Forward(state, cache, model.Target.Embedding, [61], outputs.AsSpan(4 * 64, 64), [5], null, fromTarget: false).ToArray();
        var normed = head.Normed(state, own, 1).ToArray();

        var r = new ReferenceEagle3(dir, model.Target, normBeforeResidual);
        var expected = r.Run([.. tokens, 61], features, ownLast: true);
        for (int t = 0; t < tokens.Length; t++)
            for (int i = 0; i < 64; i++) Assert.Equal(expected[t][i], outputs[t * 64 + i], 3);
        for (int i = 0; i < 64; i++) Assert.Equal(expected[5][i], own[i], 3);
        var logits = new float[head.DraftVocabSize];
        head.Head.Compute(normed, 1, logits);
        var refLogits = r.Logits(expected[5]);
        for (int v = 0; v < logits.Length; v++) Assert.Equal(refLogits[v], logits[v], 2);
        // every logit row stands for the target id i + d2t[i]
        using var st = TensorStore.OpenFiles(dir, Path.Combine(dir, "model.safetensors"));
        var (f, e) = st.Find("d2t");
        var d2t = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(f.Bytes(e)).ToArray();
        for (int i = 0; i < d2t.Length; i++) Assert.Equal(i + (int)d2t[i], head.Head.TokenId(i));
    }

    [Fact]
    public void BothLayoutsAndContainersDraftTheSameTrees()
    {
        string target = Target();
        using var model = LanguageModel.Load(target);
        string official = TinyModels.NewDir("eagle3-official"), speculators = TinyModels.NewDir("eagle3-speculators");
        Eagle3Synthesizer.Write(target, official, Eagle3Layout.Official, seed: 11);
        Eagle3Synthesizer.Write(target, speculators, Eagle3Layout.Speculators, seed: 11);
        Assert.True(File.Exists(Path.Combine(official, "pytorch_model.bin")));
        Assert.Contains("midlayer.hidden_norm.weight", FrSpec.Formats.Torch.TorchCheckpoint.ReadStateDict(Path.Combine(official, "pytorch_model.bin")).Keys);
        Assert.True(Eagle3Head.IsEagle3Directory(official) && Eagle3Head.IsEagle3Directory(speculators));
        var options = new GenerationOptions { MaxNewTokens = 30 };
        using var a = model.CreateSession(DecodingMethod.Eagle3(official));
        using var b = model.CreateSession(DecodingMethod.Eagle3(speculators));
        var ra = a.Generate([4, 8, 15, 16, 23, 42], options);
        var rb = b.Generate([4, 8, 15, 16, 23, 42], options);
        Assert.Equal(ra.Ids, rb.Ids);
        Assert.Equal(ra.AcceptLengths, rb.AcceptLengths);
    }

    [Fact]
    public void FrSubsetKeepsOnlyItsTokensOfTheDraftVocabulary()
    {
        string target = Target();
        using var model = LanguageModel.Load(target);
        string dir = DrafterFixtures.Eagle3(target, Eagle3Layout.Speculators, 21);
        var head = model.Eagle3Head(dir);
        var subset = model.Vocabulary.CreateDraftVocabulary(head.TokenIds.Where((_, i) => i % 3 == 0).Concat([1, 2, 3]).Distinct());
        var lm = model.Eagle3DraftHead(dir, subset);
        var expected = head.TokenIds.Where(subset.Ids.Contains).ToArray();
        Assert.Equal(expected, Enumerable.Range(0, lm.Size).Select(lm.TokenId));
        var none = model.Vocabulary.CreateDraftVocabulary(Enumerable.Range(0, Vocab).Where(i => !head.TokenIds.Contains(i)).Take(5));
        if (!none.Ids.Any(head.TokenIds.Contains))
            Assert.Contains("shares no token", Assert.Throws<FrSpecException>(() => model.Eagle3DraftHead(dir, none)).Message);
    }

    [Fact]
    public void LoaderErrorsNameTheFieldOrTensor()
    {
        string target = Target();
        var cfg = ModelConfig.Load(target);
        string Fresh(string name)
        {
            string d = TinyModels.NewDir(name);
            Eagle3Synthesizer.Write(target, d, Eagle3Layout.Speculators, seed: 13);
            return d;
        }
        string Error(string dir) => Assert.Throws<FrSpecException>(() => Eagle3Head.Load(dir, cfg).Dispose()).Message;

        var d2t = Fresh("e3-d2t");
        RewriteTensor(d2t, "d2t", bytes => BitConverter.GetBytes(100_000L).CopyTo(bytes, 8));
        Assert.Contains("d2t[1]", Error(d2t));

        var t2d = Fresh("e3-t2d");
        RewriteTensor(t2d, "t2d", bytes => bytes[bytes.Length - 2] ^= 1);
        Assert.Contains("t2d[", Error(t2d));

        var layers = Fresh("e3-layers");
        EditConfig(layers, c => c["eagle_aux_hidden_state_layer_ids"] = new JsonArray(1, 2));
        Assert.Contains("fc.weight", Error(layers));

        var hidden = Fresh("e3-hidden");
        EditConfig(hidden, c => c["target_hidden_size"] = 128);
        Assert.Contains("target_hidden_size", Error(hidden));

        var vocab = Fresh("e3-vocab");
        EditConfig(vocab, c => c.Remove("draft_vocab_size"));
        Assert.Contains("draft_vocab_size", Error(vocab));

        var two = Fresh("e3-two");
        EditConfig(two, c => c["transformer_layer_config"]!["num_hidden_layers"] = 2);
        Assert.Contains("num_hidden_layers", Error(two));

        // an EAGLE-1/2 session given an EAGLE-3 head says what to use instead
        using var model = LanguageModel.Load(target);
        var e = Assert.Throws<FrSpecException>(() => model.CreateSession(DecodingMethod.Eagle(Fresh("e3-as-e2"))));
        Assert.Contains("EAGLE-3", e.Message);
    }

    private static void EditConfig(string dir, Action<JsonObject> edit)
    {
        string file = Path.Combine(dir, "config.json");
        var o = JsonNode.Parse(File.ReadAllText(file))!.AsObject();
        edit(o);
        File.WriteAllText(file, o.ToJsonString());
    }

    /// <summary>Rewrites model.safetensors with one tensor's bytes changed.</summary>
    private static void RewriteTensor(string dir, string name, Action<byte[]> edit)
    {
        string path = Path.Combine(dir, "model.safetensors");
        List<TensorBlob> blobs;
        using (var f = SafetensorsFile.Open(path))
            blobs = f.Entries.Values.OrderBy(e => e.Begin).Select(e =>
            {
                var bytes = f.Bytes(e).ToArray();
                if (e.Name == name) edit(bytes);
                return TensorBlob.FromBytes(e.Name, e.DType, e.Shape, bytes);
            }).ToList();
        SafetensorsWriter.Write(path, blobs);
    }

    /// <summary>EAGLE-3's draft forward in plain double arithmetic, from the tensors of a speculators export by name.</summary>
    private sealed class ReferenceEagle3
    {
        private readonly Func<string, float[]> _t;
        private readonly float[] _emb;
        private readonly int _h = 64, _heads, _kv, _hd, _inter;
        private readonly double _eps, _theta;
        private readonly bool _normBefore;

        public ReferenceEagle3(string dir, Transformer target, bool normBeforeResidual)
        {
            var store = TensorStore.OpenFiles(dir, Path.Combine(dir, "model.safetensors"));
            _t = name =>
            {
                var (f, e) = store.Find(name);
                return e.Shape.Length == 1 ? store.Vector(name, (int)e.Shape[0]) : store.Matrix(name, (int)e.Shape[0], (int)e.Shape[1]).ToFloatArray();
            };
            _emb = target.Embedding.ToFloatArray();
            var c = target.Config;
            _heads = c.NumHeads; _kv = c.NumKvHeads; _hd = c.HeadDim; _inter = c.IntermediateSize; _eps = c.RmsNormEps; _theta = c.RopeTheta;
            _normBefore = normBeforeResidual;
        }

        /// <summary>Outputs of positions 0..n−1 (causal); features feed fc except the last position when <paramref name="ownLast"/>,
        /// which takes the previous position's output as its hidden state.</summary>
        public double[][] Run(int[] tokens, float[] features, bool ownLast)
        {
            int n = tokens.Length, h = _h;
            var fc = _t("fc.weight");
            var hs = new double[n][];
            var ks = new double[n][]; var vs = new double[n][]; var outs = new double[n][];
            for (int t = 0; t < n; t++)
            {
                double[] hid = ownLast && t == n - 1 ? outs[t - 1] : Linear(features.AsSpan(t * 192, 192).ToArray().Select(x => (double)x).ToArray(), fc, h);
                var e = Enumerable.Range(0, h).Select(i => (double)_emb[tokens[t] * h + i]).ToArray();
                var hn = Norm(hid, _t("layers.0.hidden_norm.weight"));
                double[] a = [.. Norm(e, _t("layers.0.input_layernorm.weight")), .. hn];
                var q = Linear(a, _t("layers.0.self_attn.q_proj.weight"), _heads * _hd);
                ks[t] = Linear(a, _t("layers.0.self_attn.k_proj.weight"), _kv * _hd);
                vs[t] = Linear(a, _t("layers.0.self_attn.v_proj.weight"), _kv * _hd);
                for (int x = 0; x < _heads; x++) Rotate(q, x * _hd, t);
                for (int g = 0; g < _kv; g++) Rotate(ks[t], g * _hd, t);
                var attn = new double[_heads * _hd];
                for (int x = 0; x < _heads; x++)
                {
                    int g = x / (_heads / _kv);
                    var sc = Enumerable.Range(0, t + 1).Select(j => Enumerable.Range(0, _hd).Sum(i => q[x * _hd + i] * ks[j][g * _hd + i]) / Math.Sqrt(_hd)).ToArray();
                    double max = sc.Max(), sum = sc.Sum(s => Math.Exp(s - max));
                    for (int j = 0; j <= t; j++)
                        for (int i = 0; i < _hd; i++) attn[x * _hd + i] += Math.Exp(sc[j] - max) / sum * vs[j][g * _hd + i];
                }
                var o = Linear(attn, _t("layers.0.self_attn.o_proj.weight"), h);
                var res = (_normBefore ? hn : hid).Select((v, i) => v + o[i]).ToArray();
                var pn = Norm(res, _t("layers.0.post_attention_layernorm.weight"));
                var gate = Linear(pn, _t("layers.0.mlp.gate_proj.weight"), _inter);
                var up = Linear(pn, _t("layers.0.mlp.up_proj.weight"), _inter);
                var act = gate.Select((g, i) => g / (1 + Math.Exp(-g)) * up[i]).ToArray();
                var down = Linear(act, _t("layers.0.mlp.down_proj.weight"), h);
                outs[t] = res.Select((v, i) => v + down[i]).ToArray();
            }
            return outs;
        }

        public double[] Logits(double[] output)
        {
            var lm = _t("lm_head.weight");
            return Linear(Norm(output, _t("norm.weight")), lm, lm.Length / _h);
        }

        private double[] Norm(double[] x, float[] w)
        {
            double r = 1 / Math.Sqrt(x.Sum(v => v * v) / x.Length + _eps);
            return x.Select((v, i) => v * r * w[i]).ToArray();
        }

        private static double[] Linear(double[] x, float[] w, int outDim) =>
            Enumerable.Range(0, outDim).Select(o => Enumerable.Range(0, x.Length).Sum(i => x[i] * w[o * x.Length + i])).ToArray();

        private void Rotate(double[] v, int off, int pos)
        {
            int half = _hd / 2;
            for (int i = 0; i < half; i++)
            {
                double f = pos / Math.Pow(_theta, 2.0 * i / _hd), c = Math.Cos(f), s = Math.Sin(f);
                double a = v[off + i], b = v[off + i + half];
                v[off + i] = a * c - b * s;
                v[off + i + half] = b * c + a * s;
            }
        }
    }
}
