using System.Diagnostics;
using System.Text.Json;
using FrSpec.Generation;
using FrSpec.Model;
using FrSpec.Numerics;

namespace FrSpec.Training;

/// <summary>
/// `frspec train medusa`: trains Medusa-1 heads on a target's own hidden states, as Medusa-1 does (target frozen).
/// Head k at position t reads the final-norm hidden state f_t and is trained with cross-entropy towards token
/// x_{t+k+2}; the heads' losses are summed with equal weights, as Medusa's trainer does. The data are the same windows
/// as `train eagle` (corpus text and text the target samples itself, which is what the heads see when drafting).
/// The LM heads train over the active rows only (<see cref="VocabLoss"/>), so rows the corpus never uses stay zero.
/// OUT/ receives the heads (config.json + medusa_lm_head.safetensors); OUT/training/ the checkpoint, log and report.
/// </summary>
public sealed class MedusaTrainer : TrainingRun
{
    public required string TargetDir { get; init; }


    /// <summary>Result of a run (also written to training/report.json): validation loss and top-1 accuracy per head.</summary>
    public sealed record Report(int Steps, long PositionsSeen, double TrainLoss, double[] ValidLoss, double[] ValidTop1, double PositionsPerSecond);

    public Report Train(Transformer target, EagleData train, EagleData valid, bool resume, TrainingLog log)
    {
        var c = Config;
        var tc = target.Config;
        int H = tc.HiddenSize, S = c.SeqLen, K = c.MedusaHeads;
        if (train.WindowLength != S + 1) throw new ArgumentException("data windows do not match seq_len + 1");
        if (S < K + 2) throw new FrSpecException($"seq_len {S} is too short for {K} Medusa heads (head k needs k + 2 tokens ahead)");
        Directory.CreateDirectory(StateDir);
        float[] head = target.Head.Weight.ToFloatArray();
        var active = EagleTrainer.NonZeroRows(head, tc.VocabSize, H);
        var loss = new VocabLoss(tc.VocabSize, H, active.Length == tc.VocabSize ? null : active);
        int maxRows = c.BatchSize * S;
        var model = new TrainableMedusaHeads(K, H, tc.VocabSize, maxRows);
        model.Initialize(head);
        var parameters = model.Parameters().ToList();
        var opt = new AdamW(parameters) { Beta1 = c.Beta1, Beta2 = c.Beta2, WeightDecay = c.WeightDecay };
        var schedule = new LrSchedule(c.Lr, c.MinLr, c.WarmupSteps, c.Steps);
        int start = 0;
        if (resume) (start, _) = Resume(opt, log);
        // per position and head: ResBlock fwd+bwd 6·H², LM head over the active rows fwd, dHidden and dW 6·V'·H
        double flops = K * (6.0 * H * H + 6.0 * loss.ActiveRows * H);
        log.Line($"Medusa: {K} heads, {parameters.Sum(p => (long)p.Length):N0} parameters; {train.Count} training windows, {valid.Count} validation windows; " +
                 $"softmax over {loss.ActiveRows:N0} rows; {flops / 1e6:F1} MFLOP per position (all heads); {c.BatchSize}×{S} positions/step");

        var buf = new Buffers(maxRows, H);
        var clock = Stopwatch.StartNew();
        double lastLoss = double.NaN;
        (double[] loss, double[] top1) lastValid = (new double[K], new double[K]);
        long seen = (long)start * maxRows, seenThisRun = 0;
        int step = start;
        for (; step < c.Steps; step++)
        {
            double lr = schedule.At(step);
            var rng = new Rng(c.Seed * 0x9E3779B97F4A7C15UL + (ulong)step + 1);
            var windows = Enumerable.Range(0, c.BatchSize).Select(_ => (int)(rng.NextDouble() * train.Count)).ToArray();
            foreach (var p in parameters) p.ZeroGrad();
            var sw = Stopwatch.StartNew();
            var (total, _, _) = Run(model, loss, train, windows, buf, backward: true);
            lastLoss = total;
            double norm = Update(parameters, opt, lastLoss, lr, step, "Medusa");
            seen += maxRows; seenThisRun += maxRows;
            if ((step + 1) % c.LogEvery == 0 || step == start)
                log.Line(TrainingLog.Progress(step + 1, c.Steps, lastLoss, lr, norm, maxRows / sw.Elapsed.TotalSeconds, flops));
            bool last = IsLastStep(step, clock);
            if ((step + 1) % c.EvalEvery == 0 || last)
            {
                lastValid = Evaluate(model, loss, valid, buf, active);
                log.Line($"step {step + 1} valid: " + string.Join(", ", Enumerable.Range(0, K).Select(k =>
                    $"head {k} (token +{k + 2}) loss {lastValid.loss[k]:F3} top-1 {100 * lastValid.top1[k]:F1}%")));
            }
            if ((step + 1) % c.CheckpointEvery == 0 || last)
            {
                Checkpoint.Save(CheckpointPath, opt, step + 1, c.ToJson());
                model.Save(OutDir, tc, TargetDir, DTypeInfo.Parse(c.SaveDtype));
            }
            if (last) { step++; break; }
        }
        double secs = clock.Elapsed.TotalSeconds;
        var report = new Report(step, seen, Math.Round(lastLoss, 4), lastValid.loss.Select(v => Math.Round(v, 4)).ToArray(),
            lastValid.top1.Select(v => Math.Round(v, 4)).ToArray(), Math.Round(seenThisRun / secs, 1));
        File.WriteAllText(Path.Combine(StateDir, "report.json"), JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true }));
        log.Line($"done: {step} steps, {seen:N0} positions, {report.PositionsPerSecond:N0} positions/s over {secs:F0} s");
        return report;
    }

    /// <summary>One batch's rows per head: features f_t and labels x_{t+k+2}, and the work arrays.</summary>
    internal sealed class Buffers(int rows, int hidden)
    {
        public readonly float[] Features = new float[rows * hidden], X = new float[rows * hidden], DX = new float[rows * hidden];
        public readonly int[] Labels = new int[rows];
        public readonly bool[] Top1 = new bool[rows];
    }

    /// <summary>
    /// Summed mean cross-entropy of the heads over the windows, per-head means and top-1 accuracies; gradients when
    /// <paramref name="backward"/>.
    /// </summary>
    internal static (double Total, double[] Loss, double[] Top1) Run(TrainableMedusaHeads model, VocabLoss loss, EagleData data, int[] windows, Buffers buf, bool backward,
        int[]? activeRows = null)
    {
        int K = model.Count, H = model.Hidden;
        var perHead = new double[K];
        var top1 = new double[K];
        for (int k = 0; k < K; k++)
        {
            // rows: every position t whose label x_{t+k+2} is inside the window
            int rows = 0;
            foreach (int w in windows)
            {
                var tokens = data.Tokens[w];
                var f = data.Features[w];
                for (int t = 0; t + k + 2 < tokens.Length; t++)
                {
                    Array.Copy(f, t * H, buf.Features, rows * H, H);
                    buf.Labels[rows++] = tokens[t + k + 2];
                }
            }
            model.Forward(k, buf.Features, rows, buf.X);
            float scale = 1f / rows;
            double sum = loss.Run(model.Head[k].Value, buf.X, rows, buf.Labels, null, scale, backward ? buf.DX : null,
                backward ? model.Head[k].Grad : null, null);
            perHead[k] = sum / rows;
            if (backward) model.Backward(k, buf.Features, rows, buf.DX);
            else if (activeRows != null) top1[k] = Top1(model, k, buf, Math.Min(rows, 512), activeRows);
        }
        return (perHead.Sum(), perHead, top1);
    }

    /// <summary>
    /// Share of the first <paramref name="rows"/> rows whose argmax is the label, over the active rows (the others have
    /// logit 0 and win only when every active logit is negative: counted as a miss). Evaluation only.
    /// </summary>
    private static double Top1(TrainableMedusaHeads model, int k, Buffers buf, int rows, int[] active)
    {
        int H = model.Hidden, A = active.Length, hits = 0;
        var w = model.Head[k].Value;
        var gathered = new float[(long)A * H];
        for (int i = 0; i < A; i++) Array.Copy(w, (long)active[i] * H, gathered, (long)i * H, H);
        var logits = new float[(long)rows * A];
        Gemm.MultiplyNT(buf.X.AsSpan(0, rows * H), gathered, logits, rows, H, A);
        for (int r = 0; r < rows; r++)
        {
            var row = logits.AsSpan(r * A, A);
            int best = System.Numerics.Tensors.TensorPrimitives.IndexOfMax(row);
            if (row[best] >= 0 && active[best] == buf.Labels[r]) hits++;
        }
        return hits / (double)rows;
    }

    private (double[] Loss, double[] Top1) Evaluate(TrainableMedusaHeads model, VocabLoss loss, EagleData valid, Buffers buf, int[] active)
    {
        int B = Config.BatchSize, K = model.Count;
        int batches = Math.Max(1, valid.Count / B);
        var l = new double[K];
        var t = new double[K];
        for (int b = 0; b < batches; b++)
        {
            var windows = Enumerable.Range(0, B).Select(i => (b * B + i) % valid.Count).ToArray();
            var (_, per, top) = Run(model, loss, valid, windows, buf, backward: false, active);
            for (int k = 0; k < K; k++) { l[k] += per[k] / batches; t[k] += top[k] / batches; }
        }
        return (l, t);
    }
}
