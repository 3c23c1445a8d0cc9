using System.CommandLine;
using FrSpec.Model;
using FrSpec.Sessions;
using FrSpec.Training;

namespace FrSpec.Cli.Support;

/// <summary>
/// What `train eagle` and `train medusa` share: heads trained on a target's own hidden states, from the same options
/// (--model, --corpus, --valid, --config, --out, --resume, --force) and the same data (corpus windows and windows the target
/// samples itself, run through the target once).
/// </summary>
internal sealed class TargetTrainingOptions
{
    public Option<string> Model { get; } = new("--model") { Description = "Target model directory (HF layout, with tokenizer.json)", Required = true };
    public Option<string[]> Corpus { get; } = new("--corpus") { Description = "Corpus files the target is run over (JSON lines with \"text\", optionally .zst)", Required = true, AllowMultipleArgumentsPerToken = true };
    public Option<string[]> Valid { get; } = new("--valid") { Description = "Validation corpus files (default: the last --corpus file)", AllowMultipleArgumentsPerToken = true };
    public Option<string?> Config { get; }
    public Option<string> Out { get; }
    public Option<bool> Resume { get; } = new("--resume") { Description = "Continue from OUT/training/checkpoint.safetensors" };
    public Option<bool> Force { get; } = new("--force") { Description = "Train into --out even when it already holds files (they are overwritten as the run saves)" };

    public TargetTrainingOptions(string configKeys, string outWhat)
    {
        Config = new("--config") { Description = $"Training config JSON ({configKeys})" };
        Out = new("--out") { Description = $"Output {outWhat} directory (state in OUT/training/)", Required = true };
    }

    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { Model, Corpus, Valid, Config, Out, Resume, Force }) command.Options.Add(o);
    }

    /// <summary>A prepared run: the config, the loaded target, the training and validation windows and the open log.</summary>
    public sealed record Run(TrainConfig Config, string TargetDir, string OutDir, bool Resume, LanguageModel Model, EagleData Train, EagleData Valid, TrainingLog Log) : IDisposable
    {
        public void Dispose() { Log.Dispose(); Model.Dispose(); }
    }

    /// <summary>
    /// Reads the options, opens OUT/training/train.log and builds the data (the slow part, logged); <paramref name="checkTarget"/>
    /// sees the target's config first (to refuse inputs that do not fit it before the data is built).
    /// </summary>
    public Run Prepare(ParseResult pr, TrainConfig defaults, string verb, Action<ModelConfig>? checkTarget = null)
    {
        string? cfgPath = pr.GetValue(Config);
        var cfg = cfgPath != null ? TrainConfig.Load(cfgPath) : defaults;
        string targetDir = pr.GetValue(Model)!, outDir = pr.GetValue(Out)!;
        var files = pr.GetValue(Corpus)!;
        var validFiles = pr.GetValue(Valid) is { Length: > 0 } v ? v : [files[^1]];
        var inputs = files.Concat(validFiles).Select(f => new OutputFolder.Input(f, "--corpus/--valid"))
            .Append(new OutputFolder.Input(targetDir, "--model", OutputInsideAllowed: false)).Append(new OutputFolder.Input(cfgPath, "--config")).ToArray();
        OutputFolder.CheckInPlace(outDir, pr.GetValue(Resume) || pr.GetValue(Force), "--out", inputs);
        string stateDir = Path.Combine(outDir, "training");
        Directory.CreateDirectory(stateDir);
        var log = new TrainingLog(Path.Combine(stateDir, "train.log"));
        LanguageModel? lm = null;
        try
        {
            log.Line($"frspec train {verb} --model {targetDir} --out {outDir}" + (cfgPath != null ? $" --config {cfgPath}" : ""));
            lm = LanguageModel.Load(targetDir, CliEngineOptions.FromEnvironment());
            checkTarget?.Invoke(lm.Target.Config);
            var tokenizer = lm.Vocabulary.Tokenizer ?? throw new FrSpecException($"{targetDir}: train {verb} needs tokenizer.json");
            int validWindows = Math.Max(cfg.BatchSize, cfg.EvalWindows);
            // chat_share: part of the generated windows answer corpus texts sent through the model's chat template
            var vocabulary = lm.Vocabulary;
            Func<string, int[]>? chat = vocabulary.ChatTemplate == null ? null
                : text => vocabulary.EncodeChat([new Text.ChatMessage("user", text)]);
            if (cfg.ChatShare > 0 && chat == null) throw new FrSpecException($"{targetDir}: chat_share needs a chat template in tokenizer_config.json");
            var train = EagleTrainer.BuildData(lm.Target, tokenizer, files, cfg, cfg.CorpusWindows, cfg.GeneratedWindows, log, chat);
            var val = EagleTrainer.BuildData(lm.Target, tokenizer, validFiles, cfg with { Seed = cfg.Seed + 1 }, validWindows, 0, log);
            log.Line($"data ready: {train.Count} training windows, {val.Count} validation windows of {cfg.SeqLen + 1} tokens");
            return new Run(cfg, targetDir, outDir, pr.GetValue(Resume), lm, train, val, log);
        }
        catch { lm?.Dispose(); log.Dispose(); throw; }
    }
}
