using FrSpec.Benchmarks;
using FrSpec.Frequency;
using FrSpec.Generation;
using FrSpec.Model;
using FrSpec.Speculative;
using FrSpec.Text;

namespace FrSpec.Cli.Support;

/// <summary>
/// A loaded target model with its tokenizer, chat template and stop ids, and the decoders built on it: vanilla,
/// EAGLE-2 and FR-Spec share the one target (and one EAGLE head), used one at a time.
/// </summary>
internal sealed class ModelContext : IDisposable
{
    public string ModelDir { get; }
    public Transformer Target { get; }
    public ITokenizer Tokenizer { get; }
    public ChatTemplate? Template { get; }
    public IReadOnlyCollection<int> StopIds { get; }
    private readonly Dictionary<string, EagleHead> _heads = new();
    private readonly List<IDisposable> _owned = new();

    private ModelContext(string dir, Transformer target, ITokenizer tokenizer, ChatTemplate? template, IReadOnlyCollection<int> stopIds)
    {
        ModelDir = dir; Target = target; Tokenizer = tokenizer; Template = template; StopIds = stopIds;
    }

    public static ModelContext Open(string modelDir)
    {
        var target = Transformer.Load(modelDir, CliEngineOptions.FromEnvironment());
        try
        {
            var tokenizer = TokenizerLoader.Load(modelDir);
            ChatTemplate? template = null;
            try { template = LoadTemplate(modelDir); }
            catch (FrSpecException) { } // no or unsupported chat template: --chat will say so
            var stops = new SortedSet<int>(Benchmarks.StopIds.FromModelDirectory(modelDir, tokenizer));
            foreach (var id in target.Config.EosTokenIds) stops.Add(id);   // a GGUF's eos/eot/eom ids (config.json's for a directory)
            if (template != null) foreach (var id in template.StopIds(tokenizer)) stops.Add(id);
            return new ModelContext(modelDir, target, tokenizer, template, stops);
        }
        catch { target.Dispose(); throw; }
    }

    /// <summary>The chat template of a model directory's tokenizer_config.json, or of a GGUF's tokenizer.chat_template.</summary>
    private static ChatTemplate LoadTemplate(string model)
    {
        if (!Formats.Gguf.GgufFile.IsGgufPath(model)) return ChatTemplate.FromModelDirectory(model);
        var source = ChatTemplateSource.FromGguf(model) ?? throw new FrSpecException($"{model}: no tokenizer.chat_template");
        return ChatTemplate.FromJinja(source.Template, source.BosToken, source.EosToken, source.Origin);
    }

    /// <summary>Token ids of a prompt: rendered through the chat template when <paramref name="chat"/>, else encoded as is (with BOS as HF adds it).</summary>
    public int[] EncodePrompt(string prompt, bool chat)
    {
        if (!chat) return Tokenizer.Encode(prompt, addSpecialTokens: true);
        if (Template == null) throw new FrSpecException($"{ModelDir}: --chat needs a supported chat_template in tokenizer_config.json (or a GGUF's tokenizer.chat_template)");
        return Tokenizer.Encode(Template.Render([new ChatMessage("user", prompt)], addGenerationPrompt: true), addSpecialTokens: false);
    }

    public IDecoder Vanilla() => new VanillaDecoder(Target);

    /// <summary>EAGLE-2 (frIds null) or FR-Spec with the given draft vocabulary.</summary>
    public IDecoder Speculative(string eagleDir, int[]? frIds, TreeOptions tree)
    {
        string key = Path.GetFullPath(eagleDir);
        if (!_heads.TryGetValue(key, out var head))
        {
            head = EagleHead.Load(eagleDir, Target.Config, Target.Compute);
            _heads[key] = head;
            _owned.Add(head);
        }
        var decoder = SpeculativeDecoder.Create(Target, head, frIds, tree);
        _owned.Add(decoder);
        return decoder;
    }

    /// <summary>
    /// The FR-Spec subset: from a freq_N.pt / token-map file, or for --fr-size N the freq_N.pt found in the model or
    /// EAGLE folder (as FR-Spec's published folders bundle them) or the bundled subset for this tokenizer.
    /// Every stop and chat-control id is forced in (docs/frequency.md).
    /// </summary>
    public int[] FrequencyIds(string? file, int? size, string? eagleDir)
    {
        var required = SpecialTokenRules.RequiredIds(Tokenizer, ModelDir).Union(StopIds).ToList();
        if (file != null) return FrequencySubset.Load(file, Target.Config.VocabSize, required, size).Ids;
        if (size is not int n) throw new FrSpecException("give --fr FILE or --fr-size N");
        foreach (var dir in new[] { ModelDir, eagleDir })
        {
            if (dir == null) continue;
            string f = Path.Combine(dir, $"freq_{n}.pt");
            if (File.Exists(f)) return FrequencySubset.Load(f, Target.Config.VocabSize, required, n).Ids;
        }
        var counts = BundledSubsets.Find(Path.Combine(ModelDir, "tokenizer.json"));
        if (counts != null && counts.Length <= Target.Config.VocabSize)
        {
            // config vocab_size may exceed the tokenizer's (Qwen pads 151,669 ids to 151,936): padding ids count zero
            Array.Resize(ref counts, Target.Config.VocabSize);
            return FrequencySubset.FromCounts(counts, n, required).Ids;
        }
        throw new FrSpecException($"--fr-size {n}: no freq_{n}.pt in {ModelDir}{(eagleDir != null ? " or " + eagleDir : "")} and no bundled subset for this tokenizer; build one with `frspec freq`");
    }

    public void Dispose()
    {
        foreach (var d in _owned) d.Dispose();
        Target.Dispose();
    }
}
