using FrSpec.Benchmarks;
using FrSpec.Generation;

namespace FrSpec.Cli;

/// <summary>
/// The seam between the CLI and the engine: builds the decoder for one benchmarked method.
/// `bench spec` calls <see cref="Create"/> once per method before the run; implementations may share the loaded
/// target model between the decoders they return (they are used one at a time, never concurrently).
/// </summary>
public static class DecoderFactory
{
    /// <param name="modelDir">Target model directory (config.json, safetensors, tokenizer.json).</param>
    /// <param name="eagleDir">EAGLE draft head directory; null when none was given (then only vanilla is asked for).</param>
    /// <param name="method">vanilla, eagle2, or fr:PATH with PATH a frequency list (freq_N.pt).</param>
    /// <returns>A decoder whose <see cref="IDecoder.Name"/> is "vanilla", "eagle2" or "fr-&lt;V'&gt;" (answer file stems, report labels).</returns>
    public static IDecoder Create(string modelDir, string? eagleDir, MethodSpec method)
    {
        // Replaced by the engine wiring: load the target once, the EAGLE head once, and a frequency list per FR method.
        throw new FrSpecException($"engine not wired yet: cannot create the {method} decoder (model {modelDir})");
    }
}
