using System.Diagnostics;
using System.Text.Json;
using FrSpec.Formats;
using FrSpec.Generation;
using FrSpec.Model;
using FrSpec.Numerics;
using FrSpec.Text;

namespace FrSpec.Training;

/// <summary>
/// `frspec train eagle`: trains an EAGLE-1/2 head on a target's own hidden states, as the EAGLE paper does.
/// Draft position t consumes (f_t, x_{t+1}) and is trained towards f_{t+1}:
/// loss = w_reg·SmoothL1(out, f_{t+1}) (mean over hidden and positions) + w_cls·CE(softmax(head(out)), softmax(head(f_{t+1}))),
/// with the target's embedding and LM head frozen. OUT/ receives the head (config.json + model.safetensors);
/// OUT/training/ the checkpoint, log and report.
/// </summary>
public sealed class EagleTrainer : TrainingRun
{
    public required string TargetDir { get; init; }

    /// <summary>A saved head to start from instead of random weights (fresh optimizer, step 0); ignored on resume, whose checkpoint holds the weights.</summary>
    public string? InitDir { get; init; }


    /// <summary>Result of a run (also written to training/report.json).</summary>
    public sealed record Report(int Steps, long PositionsSeen, double TrainLoss, double ValidRegression, double ValidClassification, double ValidTop1, double TokensPerSecond, double Gflops);

    /// <summary>
    /// Corpus windows (shuffled documents, seeded) run through the target, plus windows the target writes itself, as EAGLE
    /// regenerates its training data with the target: after a corpus prompt, or (a <c>chat_share</c> of them, when
    /// <paramref name="chatPrompt"/> renders a user turn through the chat template) in answer to a corpus text sent as a
    /// user turn, greedy or sampled in turn (<c>generation_temperatures</c>).
    /// </summary>
    public static EagleData BuildData(Transformer target, ITokenizer tokenizer, IReadOnlyList<string> files, TrainConfig c, int corpusWindows, int generatedWindows, TrainingLog log,
        Func<string, int[]>? chatPrompt = null)
    {
        int len = c.SeqLen + 1;
        long need = (long)(corpusWindows + generatedWindows) * len;
        var stream = TokenStream.FromCorpus(files, tokenizer, c.DocumentSeparatorId, c.Seed, need);
        int available = stream.WindowCount(len);
        if (available < corpusWindows + generatedWindows)
        {
            if (available == 0) throw new FrSpecException($"the corpus has {stream.Tokens.Length} tokens, fewer than one window of {len}");
            corpusWindows = Math.Min(corpusWindows, available);
            generatedWindows = Math.Min(generatedWindows, available - corpusWindows);
        }
        var data = new EagleData(len, target.Config.HiddenSize);
        var w = new int[len];
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < corpusWindows; i++)
        {
            stream.Window(i, len, w);
            data.Add(target, (int[])w.Clone());
            if ((i + 1) % 100 == 0) log.Line($"target features: {i + 1}/{corpusWindows} corpus windows ({clock.Elapsed.TotalSeconds:F0} s)");
        }
        var rng = new Rng(c.Seed ^ 0x5EED);
        float[] temperatures = c.GenerationTemperatures.Length > 0 ? c.GenerationTemperatures : [c.GenerationTemperature];
        for (int i = 0; i < generatedWindows; i++)
        {
            stream.Window(corpusWindows + i, len, w);
            float temperature = temperatures[i % temperatures.Length];
            // chat windows spread evenly: window i is one when the running share crosses a whole number
            bool chat = chatPrompt != null && Math.Floor((i + 1) * (double)c.ChatShare) > Math.Floor(i * (double)c.ChatShare);
            int[] prompt = w;
            int promptLength = Math.Min(c.GenerationPromptTokens, len - 1);
            if (chat)
            {
                var rendered = chatPrompt!(tokenizer.Decode(w.AsSpan(0, Math.Min(c.ChatPromptTokens, len - 1)), skipSpecialTokens: true));
                if (rendered.Length < len) { prompt = rendered; promptLength = rendered.Length; }
            }
            var gen = EagleData.Generate(target, prompt, promptLength, len, temperature, rng);
            data.Add(target, gen);
            if ((i + 1) % 10 == 0) log.Line($"target features: {i + 1}/{generatedWindows} generated windows ({clock.Elapsed.TotalSeconds:F0} s)");
        }
        return data;
    }

    /// <summary>Rows of the target head that are not all zero (rows that are give logit 0 exactly; see <see cref="VocabLoss"/>).</summary>
    public static int[] NonZeroRows(float[] head, int vocab, int hidden)
    {
        var rows = new List<int>();
        for (int v = 0; v < vocab; v++)
        {
            var r = head.AsSpan(v * hidden, hidden);
            if (r.ContainsAnyExcept(0f)) rows.Add(v);
        }
        return rows.ToArray();
    }

    /// <summary>
    /// Checks an --init head before the (slow) data is built: a one-line error when <paramref name="dir"/> holds no readable
    /// tensor file, or, given the <paramref name="target"/>'s config, when a tensor the trainer loads is missing, of another
    /// shape or of an unreadable dtype (<see cref="TrainableEagleHead.CheckWeights"/>).
    /// </summary>
    public static void CheckInit(string dir, ModelConfig? target = null)
    {
        if (target != null) { TrainableEagleHead.CheckWeights(dir, target); return; }
        using var store = TensorStore.Open(dir);
    }

    public Report Train(Transformer target, EagleData train, EagleData valid, bool resume, TrainingLog log)
    {
        var c = Config;
        var tc = target.Config;
        int H = tc.HiddenSize, S = c.SeqLen, T = c.BatchSize * S;
        if (train.WindowLength != S + 1) throw new ArgumentException("data windows do not match seq_len + 1");
        Directory.CreateDirectory(StateDir);
        float[] embedding = target.Embedding.ToFloatArray();
        float[] head = ReferenceEquals(target.Head.Weight, target.Embedding) ? embedding : target.Head.Weight.ToFloatArray();
        var active = NonZeroRows(head, tc.VocabSize, H);
        var loss = new VocabLoss(tc.VocabSize, H, active.Length == tc.VocabSize ? null : active);

        var model = new TrainableEagleHead(tc, c.BatchSize, S);
        model.Initialize(c.Seed);
        var parameters = model.Parameters().ToList();
        var opt = new AdamW(parameters) { Beta1 = c.Beta1, Beta2 = c.Beta2, WeightDecay = c.WeightDecay };
        var schedule = new LrSchedule(c.Lr, c.MinLr, c.WarmupSteps, c.Steps);
        int start = 0;
        if (resume) (start, _) = Resume(opt, log);
        else if (InitDir != null)
        {
            model.LoadWeights(InitDir);
            var (reg0, cls0, top0) = Evaluate(model, loss, head, embedding, valid, new Buffers(T, H));
            log.Line($"initialized from the head in {InitDir}: valid regression {reg0:F4}, classification {cls0:F4}, draft top-1 = target top-1 on {100 * top0:F1}% of positions");
        }
        double flops = model.FlopsPerToken(loss.ActiveRows);
        log.Line($"EAGLE head: {parameters.Sum(p => (long)p.Length):N0} parameters; {train.Count} training windows, {valid.Count} validation windows; " +
                 $"head softmax over {loss.ActiveRows:N0} rows; {flops / 1e6:F1} MFLOP/position; {c.BatchSize}×{S} positions/step");

        var buf = new Buffers(T, H);
        var clock = Stopwatch.StartNew();
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        double lastLoss = double.NaN;
        (double reg, double cls, double top1) lastValid = (double.NaN, double.NaN, double.NaN);
        long seen = (long)start * T, seenThisRun = 0;
        int step = start;
        for (; step < c.Steps; step++)
        {
            double lr = schedule.At(step);
            var rng = new Rng(c.Seed * 0x9E3779B97F4A7C15UL + (ulong)step + 1);
            for (int b = 0; b < c.BatchSize; b++) Fill(buf, b, S, H, train, (int)(rng.NextDouble() * train.Count), embedding, c.FeatureNoise, rng);
            foreach (var p in parameters) p.ZeroGrad();
            var sw = Stopwatch.StartNew();
            var (reg, cls, _) = ForwardBackward(model, loss, head, buf, T, H, backward: true);
            lastLoss = c.RegressionWeight * reg + c.ClassificationWeight * cls;
            double norm = Update(parameters, opt, lastLoss, lr, step, "EAGLE");
            seen += T; seenThisRun += T;
            if ((step + 1) % c.LogEvery == 0 || step == start)
                log.Line(TrainingLog.Progress(step + 1, c.Steps, lastLoss, lr, norm, T / sw.Elapsed.TotalSeconds, flops) + $" (reg {reg:F4}, cls {cls:F4})");
            bool last = IsLastStep(step, clock);
            if ((step + 1) % c.EvalEvery == 0 || last)
            {
                lastValid = Evaluate(model, loss, head, embedding, valid, buf);
                log.Line($"step {step + 1} valid: regression {lastValid.reg:F4}, classification {lastValid.cls:F4}, draft top-1 = target top-1 on {100 * lastValid.top1:F1}% of positions");
            }
            if ((step + 1) % c.CheckpointEvery == 0 || last)
            {
                Checkpoint.Save(CheckpointPath, opt, step + 1, c.ToJson());
                model.Save(OutDir, DTypeInfo.Parse(c.SaveDtype));
            }
            if (last) { step++; break; }
        }
        double secs = clock.Elapsed.TotalSeconds;
        double cpuSecs = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
        var report = new Report(step, seen, Math.Round(lastLoss, 4), Math.Round(lastValid.reg, 4), Math.Round(lastValid.cls, 4), Math.Round(lastValid.top1, 4),
            Math.Round(seenThisRun / secs, 1), Math.Round(seenThisRun / secs * flops / 1e9, 2));
        File.WriteAllText(Path.Combine(StateDir, "report.json"), JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true }));
        log.Line($"done: {step} steps, {seen:N0} draft positions, {report.TokensPerSecond:N0} positions/s, {report.Gflops:F1} GFLOP/s " +
                 $"({100 * report.Gflops / TrainingLog.RooflineGflops:F1}% of FMA roofline) over {secs:F0} s ({cpuSecs:F0} CPU-seconds: " +
                 $"{seenThisRun * flops / cpuSecs / 1e9:F1} GFLOP per CPU-second)");
        return report;
    }

    /// <summary>One batch of draft inputs and targets, and the loss gradient w.r.t. the draft output.</summary>
    internal sealed class Buffers(int T, int H)
    {
        public readonly float[] Emb = new float[T * H], Feat = new float[T * H], Next = new float[T * H], Out = new float[T * H], DOut = new float[T * H];
        public readonly bool[] Top1 = new bool[T];
    }

    /// <summary>Sequence b of the batch from window w: position t gets (embedding of x_{t+1}, f_t [+ noise]) and target f_{t+1}.</summary>
    private static void Fill(Buffers buf, int b, int S, int H, EagleData data, int w, float[] embedding, float noise, Rng rng)
    {
        var tokens = data.Tokens[w]; var f = data.Features[w];
        for (int t = 0; t < S; t++)
        {
            int row = (b * S + t) * H;
            Array.Copy(embedding, (long)tokens[t + 1] * H, buf.Emb, row, H);
            Array.Copy(f, t * H, buf.Feat, row, H);
            Array.Copy(f, (t + 1) * H, buf.Next, row, H);
            if (noise > 0)
                for (int h = 0; h < H; h++) buf.Feat[row + h] += (float)((rng.NextDouble() * 2 - 1) * noise);
        }
    }

    /// <summary>Mean regression loss, mean classification loss, top-1 agreement; gradients when <paramref name="backward"/>.</summary>
    private (double Reg, double Cls, double Top1) ForwardBackward(TrainableEagleHead model, VocabLoss loss, float[] head, Buffers buf, int T, int H, bool backward) =>
        ForwardBackward(model, loss, head, buf, T, H, Config.RegressionWeight, Config.ClassificationWeight, backward);

    internal static (double Reg, double Cls, double Top1) ForwardBackward(TrainableEagleHead model, VocabLoss loss, float[] head, Buffers buf, int T, int H,
        float wReg, float wCls, bool backward)
    {
        model.Forward(buf.Emb, buf.Feat, buf.Out);
        double cls = loss.Run(head, buf.Out, T, null, buf.Next, wCls / T, backward ? buf.DOut : null, null, buf.Top1) / T;
        // smooth L1 (β = 1): ½d² for |d| < 1, |d| − ½ otherwise; mean over hidden and positions, as EAGLE
        double reg = 0;
        float scale = wReg / ((float)T * H);
        for (int i = 0; i < T * H; i++)
        {
            float d = buf.Out[i] - buf.Next[i], a = MathF.Abs(d);
            reg += a < 1f ? 0.5 * d * d : a - 0.5;
            if (backward) buf.DOut[i] += scale * (a < 1f ? d : MathF.Sign(d));
        }
        reg /= (double)T * H;
        if (backward) model.Backward(buf.DOut);
        return (reg, cls, buf.Top1.Take(T).Count(x => x) / (double)T);
    }

    private (double, double, double) Evaluate(TrainableEagleHead model, VocabLoss loss, float[] head, float[] embedding, EagleData valid, Buffers buf)
    {
        int S = model.SeqLen, B = model.Batch, H = model.Target.HiddenSize;
        int batches = Math.Max(1, valid.Count / B);
        double reg = 0, cls = 0, top1 = 0;
        for (int k = 0; k < batches; k++)
        {
            for (int b = 0; b < B; b++) Fill(buf, b, S, H, valid, (k * B + b) % valid.Count, embedding, 0f, new Rng(0));
            var r = ForwardBackward(model, loss, head, buf, B * S, H, backward: false);
            reg += r.Reg; cls += r.Cls; top1 += r.Top1;
        }
        return (reg / batches, cls / batches, top1 / batches);
    }
}
