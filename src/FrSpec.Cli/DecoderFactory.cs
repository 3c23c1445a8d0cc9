using FrSpec.Benchmarks;
using FrSpec.Cli.Support;
using FrSpec.Generation;
using FrSpec.Speculative;

namespace FrSpec.Cli;

/// <summary>
/// The seam between `bench spec` and the engine: builds the decoder for one benchmarked method. All decoders of a
/// model directory share one loaded target (and one EAGLE head); they are used one at a time, never concurrently.
/// </summary>
public static class DecoderFactory
{
    private static readonly Dictionary<string, ModelContext> Contexts = new();

    /// <summary>The loaded target (with tokenizer, template, stop ids) of a model directory, loaded once per process.</summary>
    internal static ModelContext Context(string modelDir)
    {
        string key = Path.GetFullPath(modelDir);
        if (!Contexts.TryGetValue(key, out var ctx)) Contexts[key] = ctx = ModelContext.Open(modelDir);
        return ctx;
    }

    /// <param name="modelDir">Target model directory (config.json, safetensors, tokenizer.json).</param>
    /// <param name="eagleDir">EAGLE draft head directory; null when none was given (then only vanilla is asked for).</param>
    /// <param name="method">vanilla, eagle2, or fr:PATH with PATH a frequency list (freq_N.pt).</param>
    /// <param name="tree">EAGLE-2 tree shape for the speculative methods.</param>
    /// <returns>A decoder whose <see cref="IDecoder.Name"/> is "vanilla", "eagle2" or "fr-&lt;V'&gt;" (answer file stems, report labels).</returns>
    public static IDecoder Create(string modelDir, string? eagleDir, MethodSpec method, TreeOptions? tree = null)
    {
        var ctx = Context(modelDir);
        if (method.Kind == MethodKind.Vanilla) return ctx.Vanilla();
        if (eagleDir == null) throw new FrSpecException($"method {method} needs --eagle DIR");
        int[]? ids = method.Kind == MethodKind.FrSpec ? ctx.FrequencyIds(method.FrequencyFile, null, eagleDir) : null;
        return ctx.Speculative(eagleDir, ids, tree ?? TreeOptions.Default);
    }
}
