using System.Text.Json;
using FrSpec.Formats;
using FrSpec.Model;
using FrSpec.Numerics;
using FrSpec.Training;

namespace FrSpec.Tests.Training;

public class EagleTrainingTests
{
    private static ModelConfig Target(string family = "qwen2") => ModelConfig.Parse(
        JsonDocument.Parse(FrSpec.Synthesis.ModelSynthesizer.ConfigJson((family == "qwen2" ? TestModels.TinyQwen(61) : TestModels.TinyLlama(61)) with
        { HiddenSize = 16, IntermediateSize = 24, Heads = 4, KvHeads = 2 }, DType.F32)).RootElement, "config.json");

    private static EagleTrainer.Buffers RandomBatch(int T, int H, int seed)
    {
        var r = new Random(seed);
        var b = new EagleTrainer.Buffers(T, H);
        foreach (var a in new[] { b.Emb, b.Feat, b.Next }) for (int i = 0; i < a.Length; i++) a[i] = (float)(r.NextDouble() * 2 - 1);
        return b;
    }

    [Theory]
    [InlineData("qwen2")]
    [InlineData("llama3")]
    public void Head_gradients_match_finite_differences(string family)
    {
        var tc = Target(family);
        int S = 5, H = tc.HiddenSize;
        var model = new TrainableEagleHead(tc, 2, S);
        var parameters = model.Parameters().ToList();
        TinyTraining.Randomize(parameters, 9);
        var head = new float[tc.VocabSize * H];
        var r = new Random(2);
        for (int i = 0; i < 40 * H; i++) head[i] = (float)(r.NextDouble() - 0.5); // rows 40.. stay zero: exercises the active-row path
        var loss = new VocabLoss(tc.VocabSize, H, EagleTrainer.NonZeroRows(head, tc.VocabSize, H));
        var batch = RandomBatch(2 * S, H, 4);
        // regression weight 1 and classification 0.5 so both terms matter
        TinyTraining.CheckGradients(parameters, backward =>
        {
            var (reg, cls, _) = EagleTrainer.ForwardBackward(model, loss, head, batch, 2 * S, H, 1f, 0.5f, backward);
            return reg + 0.5 * cls;
        });
    }

    [Fact]
    public void Saved_head_has_the_published_layout_and_the_engine_layer_reproduces_the_trainer_output()
    {
        var tc = Target();
        int S = 6, H = tc.HiddenSize;
        var model = new TrainableEagleHead(tc, 1, S);
        TinyTraining.Randomize(model.Parameters(), 5);
        string dir = TestModels.NewTempDir();
        model.Save(dir, DType.F32);

        using (var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "config.json"))))
        {
            var root = doc.RootElement;
            Assert.Equal("LlamaForCausalLM", root.GetProperty("architectures")[0].GetString());
            Assert.Equal(1, root.GetProperty("num_hidden_layers").GetInt32());
            Assert.True(root.GetProperty("bias").GetBoolean());
            Assert.True(root.GetProperty("qkv_bias").GetBoolean());
        }
        using var store = TensorStore.Open(dir);
        var names = store.Names.Order(StringComparer.Ordinal).ToArray();
        string[] expected = ["fc.bias", "fc.weight", "layers.0.mlp.down_proj.weight", "layers.0.mlp.gate_proj.weight", "layers.0.mlp.up_proj.weight",
            "layers.0.post_attention_layernorm.weight", "layers.0.self_attn.k_proj.bias", "layers.0.self_attn.k_proj.weight", "layers.0.self_attn.o_proj.weight",
            "layers.0.self_attn.q_proj.bias", "layers.0.self_attn.q_proj.weight", "layers.0.self_attn.v_proj.bias", "layers.0.self_attn.v_proj.weight"];
        Assert.Equal(expected, names);

        var batch = RandomBatch(S, H, 1);
        var mine = new float[S * H];
        model.Forward(batch.Emb, batch.Feat, mine);

        // the engine's pieces: fc via MatMul, then DecoderLayer without input norm
        var fc = store.Matrix("fc.weight", H, 2 * H);
        var bias = store.Vector("fc.bias", H);
        var layer = DecoderLayer.Load(store, "layers.0.", H, tc.IntermediateSize, tc.NumHeads, tc.NumKvHeads, tc.HeadDim, tc.RmsNormEps, qkvBias: true, inputNorm: false);
        var concat = new float[S * 2 * H];
        for (int t = 0; t < S; t++) { Array.Copy(batch.Emb, t * H, concat, t * 2 * H, H); Array.Copy(batch.Feat, t * H, concat, t * 2 * H + H, H); }
        var b = new ForwardBuffers(H, tc.NumHeads * tc.HeadDim, tc.NumKvHeads * tc.HeadDim, tc.IntermediateSize, tc.HeadDim);
        b.Ensure(S);
        MatMul.Multiply(Compute.Default, concat, S, fc, b.X, bias);
        new Rope(tc.HeadDim, tc.RopeTheta).Tables(Enumerable.Range(0, S).ToArray(), b.Cos, b.Sin);
        var cache = new KvCache(1, tc.NumKvHeads, tc.HeadDim, S);
        int first = cache.Append(S);
        var mask = new AttentionMask(0, S, 0);
        mask.FillCausal();
        layer.Forward(Compute.Default, b, S, cache, 0, first, mask);
        for (int i = 0; i < S * H; i++) Assert.True(Math.Abs(mine[i] - b.X[i]) < 1e-4, $"output[{i}] trainer {mine[i]} engine {b.X[i]}");
    }

    [Fact]
    public void Speculative_EagleHead_loads_the_saved_head_and_reproduces_the_trainer_output()
    {
        var tc = Target();
        int S = 7, H = tc.HiddenSize;
        var model = new TrainableEagleHead(tc, 1, S);
        TinyTraining.Randomize(model.Parameters(), 8);
        string dir = TestModels.NewTempDir();
        model.Save(dir, DType.F32);

        var r = new Random(3);
        var embedding = Enumerable.Range(0, tc.VocabSize * H).Select(_ => (float)(r.NextDouble() - 0.5)).ToArray();
        var tokens = Enumerable.Range(0, S).Select(_ => r.Next(tc.VocabSize)).ToArray();
        var features = Enumerable.Range(0, S * H).Select(_ => (float)(r.NextDouble() * 2 - 1)).ToArray();
        var emb = new float[S * H];
        for (int t = 0; t < S; t++) Array.Copy(embedding, tokens[t] * H, emb, t * H, H);
        var mine = new float[S * H];
        model.Forward(emb, features, mine);

        using var head = FrSpec.Speculative.EagleHead.Load(dir, tc);
        using var embMatrix = WeightMatrix.FromFloats(embedding, tc.VocabSize, H, DType.F32);
        var cache = head.CreateCache(S);
        var theirs = head.Forward(head.CreateState(), cache, embMatrix, tokens, features, Enumerable.Range(0, S).ToArray(), null).ToArray();
        for (int i = 0; i < S * H; i++) Assert.True(Math.Abs(mine[i] - theirs[i]) < 1e-4, $"output[{i}] trainer {mine[i]} EagleHead {theirs[i]}");
    }

    [Fact]
    public void LoadWeights_reads_a_saved_head_exactly_in_f32_and_to_bf16_precision_and_names_a_mismatched_tensor()
    {
        var tc = Target();
        var saved = new TrainableEagleHead(tc, 1, 4);
        TinyTraining.Randomize(saved.Parameters(), 7);
        string f32 = TestModels.NewTempDir(), bf16 = TestModels.NewTempDir();
        saved.Save(f32, DType.F32);
        saved.Save(bf16, DType.BF16);

        var exact = new TrainableEagleHead(tc, 2, 8);
        exact.Initialize(99);
        exact.LoadWeights(f32);
        var rounded = new TrainableEagleHead(tc, 1, 4);
        rounded.Initialize(99);
        rounded.LoadWeights(bf16);
        foreach (var (a, (b, c)) in saved.Parameters().Zip(exact.Parameters().Zip(rounded.Parameters())))
        {
            Assert.Equal(a.Value, b.Value);
            for (int i = 0; i < a.Length; i++)
                Assert.True(MathF.Abs(c.Value[i] - a.Value[i]) <= MathF.Abs(a.Value[i]) / 256, $"{a.Name}[{i}]: {a.Value[i]} read back as {c.Value[i]}");
        }

        var wider = ModelConfig.Parse(JsonDocument.Parse(FrSpec.Synthesis.ModelSynthesizer.ConfigJson(TestModels.TinyQwen(61) with
            { HiddenSize = 32, IntermediateSize = 24, Heads = 4, KvHeads = 2 }, DType.F32)).RootElement, "config.json");
        var e = Assert.Throws<FrSpecException>(() => new TrainableEagleHead(wider, 1, 4).LoadWeights(f32));
        Assert.Contains("'fc.weight'", e.Message);
    }

    [Theory]
    [InlineData("qwen2")]
    [InlineData("llama3")]
    public void Layout_is_every_parameter_with_its_name_shape_and_decay(string family)
    {
        var tc = Target(family);
        var parameters = new TrainableEagleHead(tc, 1, 2).Parameters().Select(p => (p.Name, string.Join(",", p.Shape), p.Decay)).ToList();
        Assert.Equal(parameters, TrainableEagleHead.Layout(tc).Select(l => (l.Name, string.Join(",", l.Shape), l.Decay)));
        Assert.Equal(family == "qwen2" ? 13 : 10, parameters.Count); // fc, its bias, 8 layer tensors (+ 3 qkv biases)
    }

    [Fact]
    public void CheckInit_accepts_a_fitting_head_and_names_the_file_and_tensor_of_one_that_does_not()
    {
        var qwen = Target("qwen2");
        string head = TestModels.NewTempDir(), llamaHead = TestModels.NewTempDir();
        new TrainableEagleHead(qwen, 1, 2).Save(head, DType.BF16);
        EagleTrainer.CheckInit(head, qwen);
        EagleTrainer.CheckInit(head);
        string file = Path.Combine(head, "model.safetensors");

        // a head for a wider target: the first tensor that differs, with both shapes
        var wider = ModelConfig.Parse(JsonDocument.Parse(FrSpec.Synthesis.ModelSynthesizer.ConfigJson(TestModels.TinyQwen(61) with
            { HiddenSize = 32, IntermediateSize = 24, Heads = 4, KvHeads = 2 }, DType.F32)).RootElement, "config.json");
        var e = Assert.Throws<FrSpecException>(() => EagleTrainer.CheckInit(head, wider));
        Assert.Equal($"{file}: tensor 'fc.weight' has shape [16, 32], the target's config needs [32, 64]", e.Message);
        // only the MLP differs
        var mlp = ModelConfig.Parse(JsonDocument.Parse(FrSpec.Synthesis.ModelSynthesizer.ConfigJson(TestModels.TinyQwen(61) with
            { HiddenSize = 16, IntermediateSize = 40, Heads = 4, KvHeads = 2 }, DType.F32)).RootElement, "config.json");
        e = Assert.Throws<FrSpecException>(() => EagleTrainer.CheckInit(head, mlp));
        Assert.Equal($"{file}: tensor 'layers.0.mlp.gate_proj.weight' has shape [24, 16], the target's config needs [40, 16]", e.Message);
        // a Llama head (no qkv biases) for a Qwen2 target of the same size
        new TrainableEagleHead(Target("llama3"), 1, 2).Save(llamaHead, DType.F32);
        e = Assert.Throws<FrSpecException>(() => EagleTrainer.CheckInit(llamaHead, qwen));
        Assert.Equal($"{llamaHead}: tensor 'layers.0.self_attn.q_proj.bias' is missing", e.Message);
        // the check agrees with what loading finds
        Assert.Contains("'fc.weight'", Assert.Throws<FrSpecException>(() => new TrainableEagleHead(wider, 1, 2).LoadWeights(head)).Message);
        Assert.Contains("q_proj.bias", Assert.Throws<FrSpecException>(() => new TrainableEagleHead(qwen, 1, 2).LoadWeights(llamaHead)).Message);
    }

    [Fact]
    public void Training_on_a_target_reduces_the_validation_losses_and_resumes_identically()
    {
        var spec = TestModels.TinyQwen(61);
        using var target = Transformer.Load(TestModels.Dir(spec, DType.F32, seed: 3));
        var c = new TrainConfig
        {
            SeqLen = 8, BatchSize = 2, Steps = 40, Lr = 1e-2, MinLr = 1e-3, WarmupSteps = 3, EvalEvery = 40, CheckpointEvery = 100, LogEvery = 10,
            SaveDtype = "f32", Seed = 5,
        };
        var r = new Random(1);
        EagleData Data(int n)
        {
            var d = new EagleData(c.SeqLen + 1, spec.HiddenSize);
            for (int i = 0; i < n; i++) d.Add(target, Enumerable.Range(0, c.SeqLen + 1).Select(_ => r.Next(61)).ToArray());
            return d;
        }
        var train = Data(24); var valid = Data(4);
        using var log = new TrainingLog(null);
        string dir = TestModels.NewTempDir();
        var untrained = new EagleTrainer { Config = c with { Steps = 1, Lr = 1e-9 }, TargetDir = "", OutDir = TestModels.NewTempDir() }.Train(target, train, valid, false, log);
        var full = new EagleTrainer { Config = c, TargetDir = "", OutDir = dir }.Train(target, train, valid, false, log);
        Assert.True(full.ValidRegression < untrained.ValidRegression * 0.9, $"regression {untrained.ValidRegression} -> {full.ValidRegression}");
        Assert.True(full.ValidClassification < untrained.ValidClassification, $"classification {untrained.ValidClassification} -> {full.ValidClassification}");

        string dir2 = TestModels.NewTempDir();
        new EagleTrainer { Config = c, TargetDir = "", OutDir = dir2, StopAtStep = 17 }.Train(target, train, valid, false, log);
        new EagleTrainer { Config = c, TargetDir = "", OutDir = dir2 }.Train(target, train, valid, true, log);
        Assert.Equal(File.ReadAllBytes(Path.Combine(dir, "model.safetensors")), File.ReadAllBytes(Path.Combine(dir2, "model.safetensors")));

        // --init: a run starts from the saved head; at learning rate 0 it saves that head unchanged, and training on lowers its losses
        string still = TestModels.NewTempDir();
        var frozen = new EagleTrainer { Config = c with { Steps = 2, Lr = 0, MinLr = 0 }, TargetDir = "", OutDir = still, InitDir = dir }.Train(target, train, valid, false, log);
        Assert.Equal(File.ReadAllBytes(Path.Combine(dir, "model.safetensors")), File.ReadAllBytes(Path.Combine(still, "model.safetensors")));
        Assert.Equal(full.ValidRegression, frozen.ValidRegression, 6);
        var further = new EagleTrainer { Config = c, TargetDir = "", OutDir = TestModels.NewTempDir(), InitDir = dir }.Train(target, train, valid, false, log);
        Assert.True(further.ValidRegression < full.ValidRegression, $"regression {full.ValidRegression} -> {further.ValidRegression}");
    }
}

public class EagleDataTests
{
    [Fact]
    public void Generated_windows_answer_chat_prompts_greedily_and_sampled_as_configured()
    {
        var spec = TestModels.TinyQwen(300);
        using var target = Transformer.Load(TestModels.Dir(spec, DType.F32, seed: 9));
        string corpus = Path.Combine(TestModels.NewTempDir(), "corpus.jsonl");
        File.WriteAllLines(corpus, Enumerable.Range(0, 40).Select(i => $"{{\"text\": \"document {i}: the quick brown fox jumps over the lazy dog while the cat sleeps {i}\"}}"));
        var tokenizer = new Benchmarks.FakeTokenizer();
        var c = new TrainConfig
        {
            SeqLen = 40, Seed = 3, DocumentSeparatorId = 3, GenerationPromptTokens = 8,
            GenerationTemperatures = [0f, 1f], ChatShare = 0.5f, ChatPromptTokens = 10,
        };
        int[] Chat(string text) => [1, 7, .. tokenizer.Encode(text), 2, 8];
        using var log = new TrainingLog(null);
        var data = EagleTrainer.BuildData(target, tokenizer, [corpus], c, corpusWindows: 2, generatedWindows: 4, log, Chat);
        Assert.Equal(6, data.Count);
        // generated window i: temperature [0, 1][i % 2]; chat every other one (windows 1 and 3)
        for (int i = 0; i < 4; i++)
        {
            var w = data.Tokens[2 + i];
            Assert.Equal(41, w.Length);
            bool chat = i % 2 == 1;
            Assert.Equal(chat, w[0] == 1 && w[1] == 7);
            int promptLength = chat ? 14 : 8;
            if (chat) Assert.Equal([2, 8], w[12..14]);
            if (i % 2 == 0)
            {
                // greedy: the continuation is the target's greedy continuation of the prompt
                var greedy = new FrSpec.Generation.VanillaDecoder(target).Generate(w[..promptLength], new FrSpec.Generation.GenerationOptions { MaxNewTokens = 41 - promptLength }).Ids;
                Assert.Equal(greedy, w[promptLength..]);
            }
        }
        // the features are the target's over each window
        Assert.Equal(41 * spec.HiddenSize, data.Features[3].Length);
        Assert.Throws<FrSpecException>(() => (c with { ChatShare = 1.5f }).Validate("cfg.json"));
        Assert.Throws<FrSpecException>(() => (c with { GenerationTemperatures = [-1f] }).Validate("cfg.json"));
    }
}
