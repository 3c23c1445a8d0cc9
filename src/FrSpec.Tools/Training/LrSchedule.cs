namespace FrSpec.Training;

/// <summary>Linear warmup from 0 to the peak rate, then cosine decay to MinLr at the last step.</summary>
public sealed record LrSchedule(double PeakLr, double MinLr, int WarmupSteps, int TotalSteps)
{
    /// <summary>Learning rate for update number <paramref name="step"/> (0-based).</summary>
    public double At(int step)
    {
        if (step < WarmupSteps) return PeakLr * (step + 1) / WarmupSteps;
        if (step >= TotalSteps) return MinLr;
        double progress = (double)(step - WarmupSteps) / Math.Max(1, TotalSteps - WarmupSteps);
        return MinLr + 0.5 * (PeakLr - MinLr) * (1 + Math.Cos(Math.PI * progress));
    }
}
