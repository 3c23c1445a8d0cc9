using FrSpec.Training;

namespace FrSpec.Tests.Training;

/// <summary>The update every trainer shares: a diverged loss is a one-line error naming the step; otherwise clip, then step.</summary>
public class TrainingRunTests
{
    private sealed class Run : TrainingRun
    {
        public double Apply(Parameter p, AdamW opt, double loss) => Update([p], opt, loss, lr: 0.1, step: 7, model: "test");
    }

    [Fact]
    public void ANonFiniteLossNamesTheStepAndChangesNothing()
    {
        var run = new Run { Config = new TrainConfig { GradClip = 1.0 }, OutDir = TestModels.NewTempDir() };
        var p = new Parameter("w", [4], decay: false).InitConstant(0.5f);
        Array.Fill(p.Grad, 3f);
        var opt = new AdamW([p]);
        foreach (double bad in new[] { double.NaN, double.PositiveInfinity })
        {
            var e = Assert.Throws<FrSpecException>(() => run.Apply(p, opt, bad));
            Assert.Contains("test training diverged at step 7", e.Message);
            Assert.All(p.Value, v => Assert.Equal(0.5f, v));
        }
        // a finite loss: the norm before clipping is returned (|(3,3,3,3)| = 6), and the weights move against the gradient
        Assert.Equal(6.0, run.Apply(p, opt, 1.0), 5);
        Assert.All(p.Value, v => Assert.True(v < 0.5f));
    }
}
