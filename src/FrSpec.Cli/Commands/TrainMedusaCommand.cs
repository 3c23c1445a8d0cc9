using System.CommandLine;
using FrSpec.Cli.Support;
using FrSpec.Training;

namespace FrSpec.Cli.Commands;

/// <summary>`frspec train medusa`: train Medusa-1 heads on a target model's own hidden states.</summary>
public sealed class TrainMedusaCommand : ICliVerb
{
    public string Parent => "train";

    public Command Create()
    {
        var options = new TargetTrainingOptions("medusa_heads, steps, batch_size, seq_len, lr, corpus_windows, generated_windows, ...", "Medusa head");
        var cmd = new Command("medusa", "Train Medusa-1 heads (a ResBlock and an LM head each) on the target's features; writes Medusa's published layout");
        options.AddTo(cmd);
        cmd.SetAction(pr =>
        {
            using var run = options.Prepare(pr, new TrainConfig { Steps = 200, Lr = 1e-3, MinLr = 1e-4, WarmupSteps = 20, WeightDecay = 0f }, "medusa");
            new MedusaTrainer { Config = run.Config, TargetDir = run.TargetDir, OutDir = run.OutDir }.Train(run.Model.Target, run.Train, run.Valid, run.Resume, run.Log);
            return 0;
        });
        return cmd;
    }
}
