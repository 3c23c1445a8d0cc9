using System.Diagnostics;
using System.Text.Json;
using FrSpec.Numerics;
using FrSpec.Text;

namespace FrSpec.Training;

/// <summary>
/// `frspec train lm`: pretrains a small tied-embedding Qwen2/Llama model on a tokenized corpus.
/// Layout of the output: DIR/ is a Hugging Face model directory (rewritten at every checkpoint, so a run that is cut
/// off still leaves a usable model); DIR/training/ holds the resumable checkpoint, the token caches and train.log.
/// </summary>
public sealed class LmTrainer : TrainingRun
{
    /// <summary>Directory with tokenizer.json (+ tokenizer_config.json), copied into the model.</summary>
    public string? TokenizerDir { get; init; }


    /// <summary>Tokenizes the corpus (or reuses the cache in training/) into train and validation streams.</summary>
    public (TokenStream Train, TokenStream Valid) PrepareData(IReadOnlyList<string> trainFiles, IReadOnlyList<string> validFiles, ITokenizer tokenizer, TrainingLog log)
    {
        Directory.CreateDirectory(StateDir);
        var c = Config;
        string trainCache = Path.Combine(StateDir, "train-tokens.bin"), validCache = Path.Combine(StateDir, "valid-tokens.bin");
        long needed = (long)c.Steps * c.BatchSize * (c.SeqLen + 1);
        TokenStream train, valid;
        if (File.Exists(trainCache)) { train = TokenStream.Load(trainCache); log.Line($"reusing {trainCache} ({train.Tokens.Length:N0} tokens)"); }
        else
        {
            train = TokenStream.FromCorpus(trainFiles, tokenizer, c.DocumentSeparatorId, c.Seed, c.TrainTokens > 0 ? c.TrainTokens : needed + needed / 4, s => log.Line(s));
            train.Save(trainCache);
        }
        if (File.Exists(validCache)) valid = TokenStream.Load(validCache);
        else
        {
            valid = TokenStream.FromCorpus(validFiles, tokenizer, c.DocumentSeparatorId, c.Seed, (long)c.EvalWindows * (c.SeqLen + 1) * 2);
            valid.Save(validCache);
        }
        return (train, valid);
    }

    /// <summary>Trains from scratch, or from training/checkpoint.safetensors when <paramref name="resume"/>.</summary>
    public TrainableTransformer Train(TokenStream train, TokenStream valid, bool resume, TrainingLog log)
    {
        var c = Config;
        Directory.CreateDirectory(StateDir);
        var active = ActiveTokens(train, c);
        var model = new TrainableTransformer(c.ToSpec(), c.BatchSize, c.SeqLen, active);
        model.Initialize(c.Seed);
        var parameters = model.Parameters().ToList();
        var opt = new AdamW(parameters) { Beta1 = c.Beta1, Beta2 = c.Beta2, WeightDecay = c.WeightDecay };
        var schedule = new LrSchedule(c.Lr, c.MinLr, c.WarmupSteps, c.Steps);
        int start = 0;
        long tokensSeen = 0;
        if (resume)
        {
            (start, var meta) = Resume(opt, log);
            tokensSeen = meta.TryGetValue("tokens_seen", out var ts) && long.TryParse(ts, out long t) ? t : 0;
        }
        long paramCount = parameters.Sum(p => (long)p.Length);
        double flopsPerToken = model.FlopsPerToken();
        log.Line($"model: {paramCount:N0} parameters ({c.Layers} layers, hidden {c.HiddenSize}, vocab {c.VocabSize}); " +
                 $"softmax over {model.ActiveRows:N0} active rows ({ActiveCoverage(train, active, c.VocabSize):P2} of the training tokens); {flopsPerToken / 1e6:F1} MFLOP/token to train; {c.BatchSize}×{c.SeqLen} tokens/step; {train.Tokens.Length:N0} training tokens");

        var windows = new int[c.BatchSize * (c.SeqLen + 1)];
        int tokensPerStep = c.BatchSize * c.SeqLen;
        var clock = Stopwatch.StartNew();
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        long tokensThisRun = 0;
        double lastLoss = double.NaN, lastValid = double.NaN;
        int step = start;
        for (; step < c.Steps; step++)
        {
            double lr = schedule.At(step);
            train.Batch(c.Seed, step, c.BatchSize, c.SeqLen + 1, windows);
            foreach (var p in parameters) p.ZeroGrad();
            var sw = Stopwatch.StartNew();
            lastLoss = model.Step(windows, backward: true);
            double norm = Update(parameters, opt, lastLoss, lr, step, "LM");
            tokensSeen += tokensPerStep; tokensThisRun += tokensPerStep;
            if ((step + 1) % c.LogEvery == 0 || step == start)
                log.Line(TrainingLog.Progress(step + 1, c.Steps, lastLoss, lr, norm, tokensPerStep / sw.Elapsed.TotalSeconds, flopsPerToken));
            bool last = IsLastStep(step, clock);
            if ((step + 1) % c.EvalEvery == 0 || last)
            {
                lastValid = Evaluate(model, valid);
                log.Line($"step {step + 1} valid loss {lastValid:F4} (ppl {Math.Exp(lastValid):F1})");
            }
            if ((step + 1) % c.CheckpointEvery == 0 || last)
                Save(model, opt, step + 1, tokensSeen);
            if (last) { step++; break; }
        }
        double seconds = clock.Elapsed.TotalSeconds;
        double cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
        var report = new Dictionary<string, object>
        {
            ["steps_done"] = step, ["tokens_seen"] = tokensSeen, ["wall_seconds_this_run"] = Math.Round(seconds, 1),
            ["final_train_loss"] = Math.Round(lastLoss, 4), ["final_valid_loss"] = Math.Round(lastValid, 4),
            ["tokens_per_second"] = Math.Round(tokensThisRun / seconds, 1), ["flops_per_token"] = flopsPerToken,
            ["gflops"] = Math.Round(tokensThisRun / seconds * flopsPerToken / 1e9, 2),
            ["roofline_fraction"] = Math.Round(tokensThisRun / seconds * flopsPerToken / 1e9 / TrainingLog.RooflineGflops, 4),
            ["parameters"] = paramCount,
            // on a shared machine the wall-clock rate mostly measures the share of CPU this process got
            ["cpu_seconds_this_run"] = Math.Round(cpuSeconds, 1),
            ["gflop_per_cpu_second"] = Math.Round(tokensThisRun * flopsPerToken / cpuSeconds / 1e9, 2),
        };
        File.WriteAllText(Path.Combine(StateDir, "report.json"), JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true }));
        log.Line($"done: {step} steps, {tokensSeen:N0} tokens seen, train loss {lastLoss:F4}, valid loss {lastValid:F4}, " +
                 $"{tokensThisRun / seconds:N0} tok/s over {seconds:F0} s ({cpuSeconds:F0} CPU-seconds: {tokensThisRun * flopsPerToken / cpuSeconds / 1e9:F1} GFLOP per CPU-second)");
        return model;
    }

    /// <summary>
    /// The rows the LM head is trained on: every token id of the training stream plus the separator, or, with
    /// <c>max_active_tokens</c>, only the most frequent ones (ties to the lower id). The other rows stay zero: those tokens
    /// are read as zero vectors and predicted with the fixed logit 0, which is still an exact full-vocabulary loss of
    /// the model that is saved (<see cref="VocabLoss"/>), at a fraction of the head's cost.
    /// </summary>
    public static int[] ActiveTokens(TokenStream train, TrainConfig c)
    {
        var counts = new long[c.VocabSize];
        foreach (int t in train.Tokens)
        {
            if ((uint)t >= (uint)c.VocabSize) throw new FrSpecException($"token id {t} is outside vocab_size {c.VocabSize}");
            counts[t]++;
        }
        if (c.MaxActiveTokens <= 0)
        {
            counts[c.DocumentSeparatorId] = Math.Max(1, counts[c.DocumentSeparatorId]);
            return Enumerable.Range(0, c.VocabSize).Where(i => counts[i] > 0).ToArray();
        }
        var ranked = Enumerable.Range(0, c.VocabSize).Where(i => counts[i] > 0 && i != c.DocumentSeparatorId)
            .OrderByDescending(i => counts[i]).ThenBy(i => i).Take(c.MaxActiveTokens - 1);
        return ranked.Append(c.DocumentSeparatorId).Order().ToArray();
    }

    /// <summary>Share of the training stream's tokens that are active rows (1 unless <c>max_active_tokens</c> cuts rare ones).</summary>
    public static double ActiveCoverage(TokenStream train, int[] active, int vocabSize)
    {
        var isActive = new bool[vocabSize];
        foreach (int a in active) isActive[a] = true;
        long hit = 0;
        foreach (int t in train.Tokens) if (isActive[t]) hit++;
        return train.Tokens.Length == 0 ? 1 : hit / (double)train.Tokens.Length;
    }

    /// <summary>Mean loss over the first EvalWindows consecutive windows of the validation stream (rounded to whole batches).</summary>
    public double Evaluate(TrainableTransformer model, TokenStream valid)
    {
        int len = model.SeqLen + 1, batches = Math.Max(1, Math.Min(Config.EvalWindows, valid.WindowCount(len)) / model.Batch);
        if (valid.WindowCount(len) < model.Batch) throw new FrSpecException($"validation data has {valid.Tokens.Length} tokens, fewer than one batch");
        var windows = new int[model.Batch * len];
        double sum = 0;
        for (int k = 0; k < batches; k++)
        {
            for (int b = 0; b < model.Batch; b++) valid.Window(k * model.Batch + b, len, windows.AsSpan(b * len, len));
            sum += model.Step(windows, backward: false);
        }
        return sum / batches;
    }

    private void Save(TrainableTransformer model, AdamW opt, int nextStep, long tokensSeen)
    {
        Checkpoint.Save(CheckpointPath, opt, nextStep, Config.ToJson(), new Dictionary<string, string> { ["tokens_seen"] = tokensSeen.ToString() });
        model.SaveHf(OutDir, DTypeInfo.Parse(Config.SaveDtype), TokenizerDir);
    }
}
