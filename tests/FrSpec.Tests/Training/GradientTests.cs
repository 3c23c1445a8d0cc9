using FrSpec.Training;

namespace FrSpec.Tests.Training;

/// <summary>Hand-written backward passes against finite differences of the loss.</summary>
public class GradientTests
{
    [Theory]
    [InlineData("qwen2")]   // q/k/v biases
    [InlineData("llama3")]
    public void Language_model_gradients_match_finite_differences(string family)
    {
        var c = TinyTraining.Config() with { Family = family };
        var model = new TrainableTransformer(c.ToSpec(), c.BatchSize, c.SeqLen);
        var parameters = model.Parameters().ToList();
        TinyTraining.Randomize(parameters, 11);
        var windows = new int[c.BatchSize * (c.SeqLen + 1)];
        TinyTraining.Stream(200, c.VocabSize, 5).Batch(1, 0, c.BatchSize, c.SeqLen + 1, windows);
        // a repeated token exercises the serial embedding scatter-add
        windows[3] = windows[1];
        TinyTraining.CheckGradients(parameters, backward => model.Step(windows, backward));
    }

    [Fact]
    public void Step_without_backward_leaves_gradients_untouched()
    {
        var c = TinyTraining.Config();
        var model = new TrainableTransformer(c.ToSpec(), c.BatchSize, c.SeqLen);
        model.Initialize(1);
        var windows = new int[c.BatchSize * (c.SeqLen + 1)];
        model.Step(windows, backward: false);
        Assert.All(model.Parameters(), p => Assert.All(p.Grad, g => Assert.Equal(0f, g)));
    }
}

public class ActiveVocabularyTests
{
    [Fact]
    public void Active_row_loss_and_gradients_equal_the_full_vocabulary_ones_when_other_rows_are_zero()
    {
        var c = TinyTraining.Config();
        var windows = new int[c.BatchSize * (c.SeqLen + 1)];
        TinyTraining.Stream(200, 20, 5).Batch(1, 0, c.BatchSize, c.SeqLen + 1, windows); // ids < 20 of 61
        int[] active = Enumerable.Range(0, 20).Concat([40, 50]).ToArray();
        var full = new TrainableTransformer(c.ToSpec(), c.BatchSize, c.SeqLen);
        var sub = new TrainableTransformer(c.ToSpec(), c.BatchSize, c.SeqLen, active);
        TinyTraining.Randomize(sub.Parameters(), 3);
        sub.ZeroInactiveRows();
        var pf = full.Parameters().ToList(); var ps = sub.Parameters().ToList();
        for (int k = 0; k < pf.Count; k++) ps[k].Value.CopyTo(pf[k].Value, 0);
        double lf = full.Step(windows, true), ls = sub.Step(windows, true);
        Assert.Equal(lf, ls, 4);
        int H = c.HiddenSize;
        for (int k = 0; k < pf.Count; k++)
            for (int i = 0; i < pf[k].Length; i++)
            {
                bool inactiveEmbeddingRow = k == 0 && !active.Contains(i / H);
                float expected = inactiveEmbeddingRow ? 0f : pf[k].Grad[i]; // the subset model keeps those rows frozen at zero
                Assert.True(Math.Abs(expected - ps[k].Grad[i]) < 1e-5, $"{pf[k].Name}[{i}] {expected} vs {ps[k].Grad[i]}");
            }
    }

    [Fact]
    public void Active_row_gradients_match_finite_differences()
    {
        var c = TinyTraining.Config();
        var windows = new int[c.BatchSize * (c.SeqLen + 1)];
        TinyTraining.Stream(200, 20, 5).Batch(1, 0, c.BatchSize, c.SeqLen + 1, windows);
        var model = new TrainableTransformer(c.ToSpec(), c.BatchSize, c.SeqLen, Enumerable.Range(0, 25).ToArray());
        TinyTraining.Randomize(model.Parameters(), 4);
        model.ZeroInactiveRows();
        TinyTraining.CheckGradients(model.Parameters().Skip(1).ToList(), backward => model.Step(windows, backward));
    }
}
