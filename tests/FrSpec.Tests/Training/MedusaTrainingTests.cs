using FrSpec.Model;
using FrSpec.Numerics;
using FrSpec.Sessions;
using FrSpec.Speculative;
using FrSpec.Training;

namespace FrSpec.Tests.Training;

public class MedusaTrainingTests
{
    private static (string Dir, Transformer Target) Target()
    {
        string dir = TestModels.Dir(TestModels.TinyQwen(61), DType.F32, seed: 8);
        return (dir, Transformer.Load(dir));
    }

    private static EagleData Data(Transformer target, int windows, int length, int seed)
    {
        var r = new Random(seed);
        var d = new EagleData(length, target.Config.HiddenSize);
        // a noisy counter, so future tokens are predictable from the hidden state
        for (int i = 0; i < windows; i++)
        {
            var w = new int[length];
            w[0] = r.Next(61);
            for (int t = 1; t < length; t++) w[t] = r.Next(5) == 0 ? r.Next(61) : (w[t - 1] + 3) % 61;
            d.Add(target, w);
        }
        return d;
    }

    [Fact]
    public void Gradients_match_finite_differences()
    {
        var (_, target) = Target();
        using var _t = target;
        int H = target.Config.HiddenSize;
        var data = Data(target, 2, 7, 1);
        var model = new TrainableMedusaHeads(3, H, 61, 2 * 6);
        var head = target.Head.Weight.ToFloatArray();
        for (int i = 40 * H; i < head.Length; i++) head[i] = 0; // rows 40.. zero: the active-row path
        model.Initialize(head);
        var parameters = model.Parameters().ToList();
        var rng = new Random(4);
        foreach (var p in parameters.Where(p => !p.Name.EndsWith(".1.weight")))
            for (int i = 0; i < p.Length; i++) p.Value[i] = 0.3f * (float)(rng.NextDouble() * 2 - 1);
        var loss = new VocabLoss(61, H, EagleTrainer.NonZeroRows(head, 61, H));
        var buf = new MedusaTrainer.Buffers(2 * 6, H);
        TinyTraining.CheckGradients(parameters, backward => MedusaTrainer.Run(model, loss, data, [0, 1], buf, backward).Total);
    }

    [Fact]
    public void Training_lowers_the_losses_resumes_identically_and_the_engine_drafts_the_trainers_argmax()
    {
        var (dir, target) = Target();
        using var _t = target;
        var c = new TrainConfig
        {
            SeqLen = 8, BatchSize = 2, Steps = 30, Lr = 1e-2, MinLr = 1e-3, WarmupSteps = 3, EvalEvery = 30, CheckpointEvery = 100, LogEvery = 10,
            SaveDtype = "f32", Seed = 5, MedusaHeads = 3, WeightDecay = 0f,
        };
        var train = Data(target, 24, c.SeqLen + 1, 2);
        var valid = Data(target, 4, c.SeqLen + 1, 3);
        using var log = new TrainingLog(null);
        var untrained = new MedusaTrainer { Config = c with { Steps = 1, Lr = 1e-9 }, TargetDir = dir, OutDir = TestModels.NewTempDir() }.Train(target, train, valid, false, log);
        string outDir = TestModels.NewTempDir();
        var full = new MedusaTrainer { Config = c, TargetDir = dir, OutDir = outDir }.Train(target, train, valid, false, log);
        for (int k = 0; k < 3; k++)
            Assert.True(full.ValidLoss[k] < untrained.ValidLoss[k], $"head {k}: {untrained.ValidLoss[k]} -> {full.ValidLoss[k]}");

        string resumed = TestModels.NewTempDir();
        new MedusaTrainer { Config = c, TargetDir = dir, OutDir = resumed, StopAtStep = 13 }.Train(target, train, valid, false, log);
        new MedusaTrainer { Config = c, TargetDir = dir, OutDir = resumed }.Train(target, train, valid, true, log);
        Assert.Equal(File.ReadAllBytes(Path.Combine(outDir, "medusa_lm_head.safetensors")), File.ReadAllBytes(Path.Combine(resumed, "medusa_lm_head.safetensors")));

        // the saved heads, loaded by the engine, draft each head's argmax of the trainer's own forward pass
        using var model = LanguageModel.Load(dir);
        var heads = model.Medusa(outDir);
        Assert.Equal(3, heads.Count);
        var trainable = new TrainableMedusaHeads(3, 64, 61, 1);
        using (var f = FrSpec.Formats.SafetensorsFile.Open(Path.Combine(outDir, "medusa_lm_head.safetensors")))
            foreach (var p in trainable.Parameters()) f.Bytes(f.Entries[p.Name]).CopyTo(System.Runtime.InteropServices.MemoryMarshal.AsBytes(p.Value.AsSpan()));
        var h = valid.Features[0].AsSpan(3 * 64, 64).ToArray();
        var tree = MedusaTree.FromPaths([[0], [0, 0], [0, 0, 0]]);
        var drafter = new MedusaDrafter(heads, model.MedusaLmHeads(outDir, null), tree, model.Target.Compute);
        drafter.Begin([1], 16);
        drafter.Extend(h, [2]);
        var draft = new DraftTree(4);
        drafter.Draft(2, draft);
        var x = new float[64];
        var logits = new float[61];
        for (int k = 0; k < 3; k++)
        {
            trainable.Forward(k, h, 1, x);
            Gemm.MultiplyNT(x, trainable.Head[k].Value, logits, 1, 64, 61);
            Assert.Equal(Ops.ArgMax(logits), draft.Tokens[k + 1]);
        }
    }
}
