using System.Runtime.InteropServices;
using FrSpec.Formats;

namespace FrSpec.Training;

/// <summary>
/// A resumable training state in one safetensors file (f32): every parameter, both AdamW moments ("adam_m." / "adam_v."
/// prefixes) and metadata (next step, optimizer step count, the config JSON). Batches are a function of the step
/// number and the seed, so parameters + moments + step are all a resumed run needs to continue identically.
/// Written to a temporary file and renamed, so a run killed mid-write keeps the previous checkpoint.
/// </summary>
public static class Checkpoint
{
    public const string FileName = "checkpoint.safetensors";

    public static void Save(string path, AdamW opt, int nextStep, string configJson, IReadOnlyDictionary<string, string>? extra = null)
    {
        var blobs = new List<TensorBlob>();
        for (int k = 0; k < opt.Params.Count; k++)
        {
            var p = opt.Params[k];
            blobs.Add(F32(p.Name, p.Shape, p.Value));
            blobs.Add(F32("adam_m." + p.Name, p.Shape, opt.M[k]));
            blobs.Add(F32("adam_v." + p.Name, p.Shape, opt.V[k]));
        }
        var meta = new Dictionary<string, string>
        {
            ["next_step"] = nextStep.ToString(), ["adam_steps"] = opt.Steps.ToString(), ["config"] = configJson,
        };
        if (extra != null) foreach (var kv in extra) meta[kv.Key] = kv.Value;
        SafetensorsWriter.Write(path, blobs, meta);
    }

    /// <summary>Restores parameters and moments; returns (next step, metadata). Every parameter must be present with its shape.</summary>
    public static (int NextStep, IReadOnlyDictionary<string, string> Metadata) Load(string path, AdamW opt)
    {
        using var f = SafetensorsFile.Open(path);
        for (int k = 0; k < opt.Params.Count; k++)
        {
            var p = opt.Params[k];
            Read(f, path, p.Name, p.Shape, p.Value);
            Read(f, path, "adam_m." + p.Name, p.Shape, opt.M[k]);
            Read(f, path, "adam_v." + p.Name, p.Shape, opt.V[k]);
        }
        if (!f.Metadata.TryGetValue("next_step", out var ns) || !int.TryParse(ns, out int next) || next < 0)
            throw new FrSpecException($"{path}: metadata 'next_step' is missing or invalid");
        if (!f.Metadata.TryGetValue("adam_steps", out var a) || !long.TryParse(a, out long adamSteps) || adamSteps < 0)
            throw new FrSpecException($"{path}: metadata 'adam_steps' is missing or invalid");
        opt.Steps = adamSteps;
        return (next, f.Metadata);
    }

    private static TensorBlob F32(string name, long[] shape, float[] values) =>
        new(name, "F32", shape, () => MemoryMarshal.AsBytes(values.AsSpan()).ToArray());

    private static void Read(SafetensorsFile f, string path, string name, long[] shape, float[] dst)
    {
        if (!f.Entries.TryGetValue(name, out var e)) throw new FrSpecException($"{path}: tensor '{name}' is missing");
        if (e.DType != "F32" || !e.Shape.SequenceEqual(shape))
            throw new FrSpecException($"{path}: tensor '{name}' is {e.DType} [{string.Join(",", e.Shape)}], expected F32 [{string.Join(",", shape)}]");
        f.Bytes(e).CopyTo(MemoryMarshal.AsBytes(dst.AsSpan()));
    }
}
