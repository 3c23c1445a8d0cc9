using System.CommandLine;
using FrSpec.Cli.Support;
using FrSpec.Training;

namespace FrSpec.Cli.Commands;

/// <summary>`frspec train eagle`: train an EAGLE-1/2 draft head on a target model's own hidden states.</summary>
public sealed class TrainEagleCommand : ICliVerb
{
    public string Parent => "train";

    public Command Create()
    {
        var options = new TargetTrainingOptions("steps, batch_size, seq_len, lr, corpus_windows, generated_windows, ...", "EAGLE head");
        var cmd = new Command("eagle", "Train an EAGLE-1/2 draft head (fc + one decoder layer) on the target's features; writes the published head layout");
        options.AddTo(cmd);
        var init = new Option<string?>("--init") { Description = "Start from the weights of this saved EAGLE head (e.g. to train a published head further), with a fresh optimizer and schedule" };
        cmd.Options.Add(init);
        cmd.SetAction(pr =>
        {
            // the data takes minutes to build: a missing or unreadable head is reported before anything is written, one
            // whose tensors do not fit the target as soon as the target's config is loaded
            string? initDir = pr.GetValue(init);
            if (initDir != null) EagleTrainer.CheckInit(initDir);
            using var run = options.Prepare(pr, new TrainConfig { Steps = 200, Lr = 3e-3, MinLr = 3e-4, WarmupSteps = 20 }, "eagle",
                initDir == null ? null : target => EagleTrainer.CheckInit(initDir, target));
            new EagleTrainer { Config = run.Config, TargetDir = run.TargetDir, OutDir = run.OutDir, InitDir = initDir }.Train(run.Model.Target, run.Train, run.Valid, run.Resume, run.Log);
            return 0;
        });
        return cmd;
    }
}
