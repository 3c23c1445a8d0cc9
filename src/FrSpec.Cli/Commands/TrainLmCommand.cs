using System.CommandLine;
using FrSpec.Cli.Support;
using FrSpec.Text;
using FrSpec.Training;

namespace FrSpec.Cli.Commands;

/// <summary>`frspec train lm`: pretrain a small Qwen2/Llama model on CPU and write it as a Hugging Face directory.</summary>
public sealed class TrainLmCommand : ICliVerb
{
    public string Parent => "train";

    public Command Create()
    {
        var config = new Option<string>("--config") { Description = "Training config JSON (model dims, lr, steps, batch_size, seq_len, seed, ...)", Required = true };
        var corpus = new Option<string[]>("--corpus") { Description = "Training corpus files (JSON lines with a \"text\" field, optionally .zst)", Required = true, AllowMultipleArgumentsPerToken = true };
        var valid = new Option<string[]>("--valid") { Description = "Validation corpus files", Required = true, AllowMultipleArgumentsPerToken = true };
        var tokenizer = new Option<string>("--tokenizer") { Description = "tokenizer.json, or a directory holding it (and tokenizer_config.json)", Required = true };
        var output = new Option<string>("--out") { Description = "Output model directory (state in OUT/training/)", Required = true };
        var resume = new Option<bool>("--resume") { Description = "Continue from OUT/training/checkpoint.safetensors" };
        var force = new Option<bool>("--force") { Description = "Train into --out even when it already holds files (they are overwritten as the run saves)" };
        var cmd = new Command("lm", "Train a small language model on CPU (hand-written backward pass, AdamW) and save it as an HF model directory")
        {
            config, corpus, valid, tokenizer, output, resume, force,
        };
        cmd.SetAction(pr =>
        {
            string tok = pr.GetValue(tokenizer)!, outDir = pr.GetValue(output)!;
            var inputs = pr.GetValue(corpus)!.Concat(pr.GetValue(valid)!).Select(f => new OutputFolder.Input(f, "--corpus/--valid"))
                .Append(new OutputFolder.Input(tok, "--tokenizer")).Append(new OutputFolder.Input(pr.GetValue(config), "--config")).ToArray();
            OutputFolder.CheckInPlace(outDir, pr.GetValue(resume) || pr.GetValue(force), "--out", inputs);
            var cfg = TrainConfig.Load(pr.GetValue(config)!);
            string tokDir = Directory.Exists(tok) ? tok : Path.GetDirectoryName(Path.GetFullPath(tok))!;
            var tk = TokenizerLoader.Load(tok);
            if (tk.VocabSize > cfg.VocabSize) throw new FrSpecException($"{tok}: tokenizer has {tk.VocabSize} ids but the config's vocab_size is {cfg.VocabSize}");
            var trainer = new LmTrainer { Config = cfg, OutDir = outDir, TokenizerDir = tokDir };
            Directory.CreateDirectory(trainer.StateDir);
            using var log = new TrainingLog(Path.Combine(trainer.StateDir, "train.log"));
            log.Line($"frspec train lm --config {pr.GetValue(config)} --out {outDir}");
            var (train, val) = trainer.PrepareData(pr.GetValue(corpus)!, pr.GetValue(valid)!, tk, log);
            trainer.Train(train, val, pr.GetValue(resume), log);
            return 0;
        });
        return cmd;
    }
}
