namespace FrSpec.Benchmarks;

/// <summary>
/// Speed and acceptance of one method over a group of answers.
/// Tokens/s is Σ new tokens / Σ wall time (prefill included, as Spec-Bench times a whole generate call);
/// <see cref="MeanOfQuestionSpeeds"/> is Spec-Bench speed.py's figure (the mean of per-question tokens/s).
/// </summary>
public sealed record SpeedStats
{
    public int Questions { get; init; }
    public long NewTokens { get; init; }
    public double WallSeconds { get; init; }
    public double MeanOfQuestionSpeeds { get; init; }
    /// <summary>Mean tokens per target forward pass after prefill, over all steps (accepted drafts + the bonus token).</summary>
    public double MeanAcceptLength { get; init; }
    public long Steps { get; init; }
    public double DraftLayersSeconds { get; init; }
    public double DraftLmHeadSeconds { get; init; }
    public double VerifySeconds { get; init; }
    public double OtherSeconds { get; init; }

    public double TokensPerSecond => WallSeconds > 0 ? NewTokens / WallSeconds : 0;

    /// <summary>DraftLmHead / (DraftLayers + DraftLmHead), or null when the method has no drafting time.</summary>
    public double? LmHeadShareOfDrafting =>
        DraftLayersSeconds + DraftLmHeadSeconds > 0 ? DraftLmHeadSeconds / (DraftLayersSeconds + DraftLmHeadSeconds) : null;

    public static SpeedStats Of(IEnumerable<AnswerRecord> answers)
    {
        int n = 0; long tokens = 0, steps = 0, acceptSum = 0;
        double wall = 0, speedSum = 0, layers = 0, head = 0, verify = 0, other = 0;
        foreach (var a in answers)
        {
            n++;
            tokens += a.NewTokens;
            wall += a.WallTime;
            if (a.WallTime > 0) speedSum += a.NewTokens / a.WallTime;
            foreach (var t in a.Turns)
            {
                steps += t.AcceptLengths.Length;
                foreach (var x in t.AcceptLengths) acceptSum += x;
                layers += t.Time.DraftLayers;
                head += t.Time.DraftLmHead;
                verify += t.Time.Verify;
                other += t.Time.Other;
            }
        }
        return new SpeedStats
        {
            Questions = n,
            NewTokens = tokens,
            WallSeconds = wall,
            MeanOfQuestionSpeeds = n > 0 ? speedSum / n : 0,
            MeanAcceptLength = steps > 0 ? (double)acceptSum / steps : 0,
            Steps = steps,
            DraftLayersSeconds = layers,
            DraftLmHeadSeconds = head,
            VerifySeconds = verify,
            OtherSeconds = other,
        };
    }
}
