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
