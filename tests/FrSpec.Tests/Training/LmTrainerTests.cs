using FrSpec.Model;
using FrSpec.Training;

namespace FrSpec.Tests.Training;

public class LmTrainerTests
{
    private static (TokenStream, TokenStream) Data(TrainConfig c) => (TinyTraining.Stream(3000, c.VocabSize, 1), TinyTraining.Stream(400, c.VocabSize, 2));

    [Fact]
    public void Loss_goes_down_on_a_learnable_stream()
    {
        var c = TinyTraining.Config(steps: 200) with { Lr = 3e-2, EvalEvery = 200 };
        var (train, valid) = Data(c);
        var trainer = new LmTrainer { Config = c, OutDir = TestModels.NewTempDir() };
        using var log = new TrainingLog(null);
        var model = new TrainableTransformer(c.ToSpec(), c.BatchSize, c.SeqLen);
        model.Initialize(c.Seed);
        double before = trainer.Evaluate(model, valid);
        var trained = trainer.Train(train, valid, resume: false, log);
        double after = trainer.Evaluate(trained, valid);
        Assert.True(after < before - 0.7, $"valid loss {before:F3} -> {after:F3}");
    }

    [Fact]
    public void Resumed_run_continues_identically()
    {
        var c = TinyTraining.Config(steps: 6);
        var (train, valid) = Data(c);
        using var log = new TrainingLog(null);
        var straight = new LmTrainer { Config = c, OutDir = TestModels.NewTempDir() }.Train(train, valid, resume: false, log);

        string dir = TestModels.NewTempDir();
        new LmTrainer { Config = c, OutDir = dir, StopAtStep = 3 }.Train(train, valid, resume: false, log);
        var resumed = new LmTrainer { Config = c, OutDir = dir }.Train(train, valid, resume: true, log);

        var a = straight.Parameters().ToList(); var b = resumed.Parameters().ToList();
        for (int k = 0; k < a.Count; k++) Assert.Equal(a[k].Value, b[k].Value);
    }

    [Fact]
    public void Saved_model_loads_in_the_engine_with_the_same_hidden_states_and_logits()
    {
        var c = TinyTraining.Config(steps: 3) with { BatchSize = 1 };
        var (train, valid) = Data(c);
        string dir = TestModels.NewTempDir();
        using var log = new TrainingLog(null);
        var model = new LmTrainer { Config = c, OutDir = dir }.Train(train, valid, resume: false, log);

        var window = new int[c.SeqLen + 1];
        train.Window(5, c.SeqLen + 1, window);
        model.Step(window, backward: false);
        var expected = model.LastHidden.ToArray();

        using var engine = Transformer.Load(dir);
        var cache = engine.CreateCache(16);
        var hidden = engine.Forward(engine.CreateState(), cache, window.AsSpan(0, c.SeqLen), Enumerable.Range(0, c.SeqLen).ToArray()).ToArray();
        Assert.Equal(expected.Length, hidden.Length);
        for (int i = 0; i < hidden.Length; i++) Assert.True(Math.Abs(expected[i] - hidden[i]) < 1e-4, $"hidden[{i}] {expected[i]} vs {hidden[i]}");

        var logits = new float[c.SeqLen * c.VocabSize];
        engine.Head.Compute(hidden, c.SeqLen, logits);
        var emb = model.Embedding.Value;
        for (int t = 0; t < c.SeqLen; t++)
            for (int v = 0; v < c.VocabSize; v++)
            {
                float mine = 0;
                for (int h = 0; h < c.HiddenSize; h++) mine += expected[t * c.HiddenSize + h] * emb[v * c.HiddenSize + h];
                Assert.True(Math.Abs(mine - logits[t * c.VocabSize + v]) < 1e-3, $"logit [{t},{v}] {mine} vs {logits[t * c.VocabSize + v]}");
            }
    }

    [Fact]
    public void Config_errors_name_the_field()
    {
        string path = Path.Combine(TestModels.NewTempDir(), "bad.json");
        File.WriteAllText(path, "{\"hidden_size\": 128, \"num_attention_heads\": 3}");
        var e = Assert.Throws<FrSpecException>(() => TrainConfig.Load(path));
        Assert.Contains("num_attention_heads", e.Message);
    }
}

public class ActiveVocabularyCapTests
{
    [Fact]
    public void Capped_active_set_keeps_the_most_frequent_tokens_and_rare_rows_stay_zero()
    {
        var c = TinyTraining.Config(steps: 8) with { MaxActiveTokens = 20 };
        // a stream where ids 0..29 are common (id i occurs about (60 − i) times) and 30..60 rare
        var r = new Random(4);
        var tokens = new List<int>();
        for (int i = 0; i < 30; i++) tokens.AddRange(Enumerable.Repeat(i, 60 - i));
        for (int i = 30; i < 61; i++) tokens.Add(i);
        var train = new TokenStream([.. tokens.OrderBy(_ => r.Next())]);
        var active = LmTrainer.ActiveTokens(train, c);
        Assert.Equal(20, active.Length);
        Assert.Contains(c.DocumentSeparatorId, active);
        // the separator (id 1) always, plus the 19 most frequent others: 0 and 2..19
        Assert.Equal(Enumerable.Range(0, 20), active);
        Assert.InRange(LmTrainer.ActiveCoverage(train, active, c.VocabSize), 0.5, 0.99);
        Assert.Equal(Enumerable.Range(0, 61).Where(i => tokens.Contains(i)).Count(), LmTrainer.ActiveTokens(train, c with { MaxActiveTokens = 0 }).Length);

        // rare tokens appear as inputs and targets: their rows get no update and stay exactly zero
        using var log = new TrainingLog(null);
        var model = new LmTrainer { Config = c, OutDir = TestModels.NewTempDir() }.Train(train, TinyTraining.Stream(400, c.VocabSize, 2), resume: false, log);
        int h = c.HiddenSize;
        foreach (int id in Enumerable.Range(0, c.VocabSize).Except(active))
            Assert.All(model.Embedding.Value.AsSpan(id * h, h).ToArray(), x => Assert.Equal(0f, x));
        Assert.Contains(model.Embedding.Value.AsSpan(active[3] * h, h).ToArray(), x => x != 0f);
        Assert.Throws<FrSpecException>(() => (c with { MaxActiveTokens = -1 }).Validate("cfg.json"));
    }
}
