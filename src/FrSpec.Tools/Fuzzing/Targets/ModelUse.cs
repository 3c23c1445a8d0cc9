using FrSpec.Generation;
using FrSpec.Model;
using FrSpec.Sessions;

namespace FrSpec.Fuzzing.Targets;

/// <summary>What the model targets do with a loaded model: the uses a CLI run makes of it, cut short.</summary>
internal static class ModelUse
{
    /// <summary>A forward pass over three tokens and the logits of all three.</summary>
    public static void Forward(Transformer m)
    {
        var cache = m.CreateCache(8);
        int[] tokens = [1 % m.Config.VocabSize, 2 % m.Config.VocabSize, (m.Config.VocabSize - 1)];
        var h = m.Forward(m.CreateState(), cache, tokens, [0, 1, 2]).ToArray();
        var logits = new float[3 * m.Config.VocabSize];
        m.Head.Compute(h, 3, logits);
    }

    /// <summary>Loads a model folder (or .gguf) and generates a few tokens from text with <paramref name="method"/>.</summary>
    public static void Generate(string path, EngineOptions options, Func<LanguageModel, DecodingMethod>? method = null, GenerationOptions? generation = null)
    {
        using var lm = LanguageModel.Load(path, options);
        using var session = lm.CreateSession(method?.Invoke(lm));
        var r = session.Generate("hello world, the end", generation ?? new GenerationOptions { MaxNewTokens = 3 });
        lm.Vocabulary.Decode(r.Ids);
    }
}
