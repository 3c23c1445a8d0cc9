using System.CommandLine;
using FrSpec.Cli.Support;
using FrSpec.Model;
using FrSpec.Sessions;
using FrSpec.Text;
using FrSpec.Training;

namespace FrSpec.Cli.Commands;

/// <summary>`frspec train eagle`: train an EAGLE-1/2 draft head on a target model's own hidden states.</summary>
public sealed class TrainEagleCommand : ICliVerb
{
    public string Parent => "train";

    public Command Create()
    {
        var model = new Option<string>("--model") { Description = "Target model directory (HF layout, with tokenizer.json)", Required = true };
        var corpus = new Option<string[]>("--corpus") { Description = "Corpus files the target is run over (JSON lines with \"text\", optionally .zst)", Required = true, AllowMultipleArgumentsPerToken = true };
        var valid = new Option<string[]>("--valid") { Description = "Validation corpus files (default: the last --corpus file)", AllowMultipleArgumentsPerToken = true };
        var config = new Option<string?>("--config") { Description = "Training config JSON (steps, batch_size, seq_len, lr, corpus_windows, generated_windows, ...)" };
        var output = new Option<string>("--out") { Description = "Output EAGLE head directory (state in OUT/training/)", Required = true };
        var resume = new Option<bool>("--resume") { Description = "Continue from OUT/training/checkpoint.safetensors" };
        var force = new Option<bool>("--force") { Description = "Train into --out even when it already holds files (they are overwritten as the run saves)" };
        var cmd = new Command("eagle", "Train an EAGLE-1/2 draft head (fc + one decoder layer) on the target's features; writes the published head layout")
        {
            model, corpus, valid, config, output, resume, force,
        };
        cmd.SetAction(pr =>
        {
            string? cfgPath = pr.GetValue(config);
            var cfg = cfgPath != null ? TrainConfig.Load(cfgPath) : new TrainConfig { Steps = 200, Lr = 3e-3, MinLr = 3e-4, WarmupSteps = 20 };
            string targetDir = pr.GetValue(model)!, outDir = pr.GetValue(output)!;
            var files = pr.GetValue(corpus)!;
            var validFiles = pr.GetValue(valid) is { Length: > 0 } v ? v : [files[^1]];
            var inputs = files.Concat(validFiles).Select(f => new OutputFolder.Input(f, "--corpus/--valid"))
                .Append(new OutputFolder.Input(targetDir, "--model", OutputInsideAllowed: false)).Append(new OutputFolder.Input(cfgPath, "--config")).ToArray();
            OutputFolder.CheckInPlace(outDir, pr.GetValue(resume) || pr.GetValue(force), "--out", inputs);
            var trainer = new EagleTrainer { Config = cfg, TargetDir = targetDir, OutDir = outDir };
            Directory.CreateDirectory(trainer.StateDir);
            using var log = new TrainingLog(Path.Combine(trainer.StateDir, "train.log"));
            log.Line($"frspec train eagle --model {targetDir} --out {outDir}" + (cfgPath != null ? $" --config {cfgPath}" : ""));
            using var lm = LanguageModel.Load(targetDir, Support.CliEngineOptions.FromEnvironment());
            var target = lm.Target;
            var tokenizer = lm.Vocabulary.Tokenizer ?? throw new FrSpecException($"{targetDir}: train eagle needs tokenizer.json");
            int validWindows = Math.Max(cfg.BatchSize, cfg.EvalWindows);
            Func<string, int[]>? chat = lm.Vocabulary.ChatTemplate == null ? null
                : text => lm.Vocabulary.EncodeChat([new Text.ChatMessage("user", text)]);
            if (cfg.ChatShare > 0 && chat == null) throw new FrSpecException($"{targetDir}: chat_share needs a chat template in tokenizer_config.json");
            var train = EagleTrainer.BuildData(target, tokenizer, files, cfg, cfg.CorpusWindows, cfg.GeneratedWindows, log, chat);
            var val = EagleTrainer.BuildData(target, tokenizer, validFiles, cfg with { Seed = cfg.Seed + 1 }, validWindows, 0, log);
            log.Line($"data ready: {train.Count} training windows, {val.Count} validation windows of {cfg.SeqLen + 1} tokens");
            trainer.Train(target, train, val, pr.GetValue(resume), log);
            return 0;
        });
        return cmd;
    }
}
