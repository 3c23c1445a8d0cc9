using System.CommandLine;
using FrSpec.Sessions;
using FrSpec.Training;

namespace FrSpec.Cli.Commands;

/// <summary>`frspec train medusa`: train Medusa-1 heads on a target model's own hidden states.</summary>
public sealed class TrainMedusaCommand : ICliVerb
{
    public string Parent => "train";

    public Command Create()
    {
        var model = new Option<string>("--model") { Description = "Target model directory (HF layout, with tokenizer.json)", Required = true };
        var corpus = new Option<string[]>("--corpus") { Description = "Corpus files the target is run over (JSON lines with \"text\", optionally .zst)", Required = true, AllowMultipleArgumentsPerToken = true };
        var valid = new Option<string[]>("--valid") { Description = "Validation corpus files (default: the last --corpus file)", AllowMultipleArgumentsPerToken = true };
        var config = new Option<string?>("--config") { Description = "Training config JSON (medusa_heads, steps, batch_size, seq_len, lr, corpus_windows, generated_windows, ...)" };
        var output = new Option<string>("--out") { Description = "Output Medusa head directory (state in OUT/training/)", Required = true };
        var resume = new Option<bool>("--resume") { Description = "Continue from OUT/training/checkpoint.safetensors" };
        var cmd = new Command("medusa", "Train Medusa-1 heads (a ResBlock and an LM head each) on the target's features; writes Medusa's published layout")
        {
            model, corpus, valid, config, output, resume,
        };
        cmd.SetAction(pr =>
        {
            string? cfgPath = pr.GetValue(config);
            var cfg = cfgPath != null ? TrainConfig.Load(cfgPath) : new TrainConfig { Steps = 200, Lr = 1e-3, MinLr = 1e-4, WarmupSteps = 20, WeightDecay = 0f };
            string targetDir = pr.GetValue(model)!, outDir = pr.GetValue(output)!;
            if (!pr.GetValue(resume)) SynthCommand.EnsureEmpty(outDir);
            var files = pr.GetValue(corpus)!;
            var validFiles = pr.GetValue(valid) is { Length: > 0 } v ? v : [files[^1]];
            var trainer = new MedusaTrainer { Config = cfg, TargetDir = targetDir, OutDir = outDir };
            Directory.CreateDirectory(trainer.StateDir);
            using var log = new TrainingLog(Path.Combine(trainer.StateDir, "train.log"));
            log.Line($"frspec train medusa --model {targetDir} --out {outDir}" + (cfgPath != null ? $" --config {cfgPath}" : ""));
            using var lm = LanguageModel.Load(targetDir, Support.CliEngineOptions.FromEnvironment());
            var target = lm.Target;
            var tokenizer = lm.Vocabulary.Tokenizer ?? throw new FrSpecException($"{targetDir}: train medusa needs tokenizer.json");
            int validWindows = Math.Max(cfg.BatchSize, cfg.EvalWindows);
            var train = EagleTrainer.BuildData(target, tokenizer, files, cfg, cfg.CorpusWindows, cfg.GeneratedWindows, log);
            var val = EagleTrainer.BuildData(target, tokenizer, validFiles, cfg with { Seed = cfg.Seed + 1 }, validWindows, 0, log);
            log.Line($"data ready: {train.Count} training windows, {val.Count} validation windows of {cfg.SeqLen + 1} tokens");
            trainer.Train(target, train, val, pr.GetValue(resume), log);
            return 0;
        });
        return cmd;
    }
}
