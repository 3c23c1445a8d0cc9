using System.Diagnostics;

namespace FrSpec.Training;

/// <summary>
/// What every trainer's run shares: its settings, where it writes (OUT/ the model, OUT/training/ the resumable state),
/// how it resumes, and when it stops.
/// </summary>
public abstract class TrainingRun
{
    public required TrainConfig Config { get; init; }
    public required string OutDir { get; init; }

    /// <summary>Stop (with a checkpoint) once this many steps are done, as if the run had been cut off there; tests use it.</summary>
    public int? StopAtStep { get; init; }

    public string StateDir => Path.Combine(OutDir, "training");
    public string CheckpointPath => Path.Combine(StateDir, Checkpoint.FileName);

    /// <summary>Loads the optimizer state of training/checkpoint.safetensors; returns the step to continue at and the checkpoint's metadata.</summary>
    protected (int NextStep, IReadOnlyDictionary<string, string> Metadata) Resume(AdamW optimizer, TrainingLog log)
    {
        if (!File.Exists(CheckpointPath)) throw new FrSpecException($"{CheckpointPath}: no checkpoint to resume from");
        var loaded = Checkpoint.Load(CheckpointPath, optimizer);
        log.Line($"resumed from {CheckpointPath} at step {loaded.NextStep}");
        return loaded;
    }

    /// <summary>
    /// The update after a backward pass: refuses a loss that is not finite (naming the step), clips the gradients to the
    /// configured norm, steps the optimizer at <paramref name="lr"/>. Returns the gradient norm before clipping.
    /// </summary>
    protected double Update(IReadOnlyList<Parameter> parameters, AdamW optimizer, double loss, double lr, int step, string model)
    {
        if (!double.IsFinite(loss)) throw new FrSpecException($"{model} training diverged at step {step} (loss {loss}); lower 'lr'");
        double norm = GradClip.Clip(parameters, Config.GradClip);
        optimizer.Step((float)lr);
        return norm;
    }

    /// <summary>Whether <paramref name="step"/> is the run's last: the configured steps, <see cref="StopAtStep"/>, or the time budget.</summary>
    protected bool IsLastStep(int step, Stopwatch clock) =>
        step + 1 == Config.Steps || step + 1 == StopAtStep || (Config.MaxSeconds > 0 && clock.Elapsed.TotalSeconds >= Config.MaxSeconds);
}
