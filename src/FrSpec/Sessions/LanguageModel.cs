using FrSpec.Model;
using FrSpec.Speculative;
using FrSpec.Text;
using FrSpec.Speculative.AutoTree;

namespace FrSpec.Sessions;

/// <summary>
/// A model loaded once and shared: the target <see cref="Transformer"/>, its <see cref="ModelVocabulary"/> (tokenizer,
/// chat template, generation config, stop tokens, control ids) and the draft parts that sessions ask for (EAGLE-1/2/3
/// and Medusa heads by directory, draft models by path, FR-Spec LM heads by vocabulary), each loaded once and kept
/// until the model is disposed. Everything
/// here is immutable after loading and thread-safe; per-conversation state lives in the <see cref="ModelSession"/>s
/// that <see cref="CreateSession(DecodingMethod?)"/> makes, any number of which may run at once on different threads.
/// </summary>
public sealed class LanguageModel : IDisposable
{
    private readonly object _gate = new();
    private readonly Dictionary<string, EagleHead> _heads = new(StringComparer.Ordinal);
    private readonly Dictionary<DraftVocabulary, LmHead> _draftHeads = new();
    private readonly Dictionary<string, IDisposable> _parts = new(StringComparer.Ordinal); // other drafters' parts, by kind and path
    private readonly List<IDisposable> _partOrder = new(); // disposed last-made first (heads cut from a part go before it)
    private readonly Dictionary<string, Lazy<object>> _treeCosts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, AcceptanceMemory> _acceptance = new(StringComparer.Ordinal);
    private BatchScheduler? _scheduler;
    private bool _disposed;
    private int _running; // generations in progress: Dispose waits for them, so weights are never freed under a pass

    /// <summary>The model directory.</summary>
    public string Directory => Target.Directory;

    /// <summary>The target model (immutable; passes need a <see cref="ForwardState"/> of their own).</summary>
    public Transformer Target { get; }

    /// <summary>Tokenizer, chat template, generation config, stop tokens and control ids.</summary>
    public ModelVocabulary Vocabulary { get; }

    /// <summary>The options the model was loaded with (threads, kernels, weight memory, precision).</summary>
    public EngineOptions Options => Target.Compute.Options;

    private LanguageModel(Transformer target, ModelVocabulary vocabulary)
    {
        Target = target;
        Vocabulary = vocabulary;
    }

    /// <summary>
    /// Loads a Hugging Face model directory: config.json and safetensors weights (see <see cref="Transformer.Load"/>), and
    /// its token files (see <see cref="ModelVocabulary.Load"/>; tokenizer.json is optional).
    /// </summary>
    public static LanguageModel Load(string path, EngineOptions? options = null)
    {
        var target = Transformer.Load(path, options);
        try { return new LanguageModel(target, ModelVocabulary.Load(path, target.Config.VocabSize)); }
        catch { target.Dispose(); throw; }
    }

    /// <summary>
    /// A session decoding with <paramref name="method"/> (vanilla when null): it owns its KV caches, scratch and drafter
    /// state and shares this model's weights. One call at a time per session; one session per thread or conversation.
    /// </summary>
    public ModelSession CreateSession(DecodingMethod? method = null) => CreateSession(method ?? DecodingMethod.Vanilla, null);

    /// <summary>As <see cref="CreateSession(DecodingMethod)"/> with a sampled-acceptance rule (tests inject wrong ones).</summary>
    internal ModelSession CreateSession(DecodingMethod method, ISampledAcceptance? acceptance)
    {
        ThrowIfDisposed();
        return new ModelSession(this, method, method.CreateDecoder(this, acceptance));
    }

    /// <summary>The EAGLE head of a directory, loaded on first use for this target and shared by every session.</summary>
    internal EagleHead EagleHead(string directory)
    {
        string key = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));
        lock (_gate)
        {
            ThrowIfDisposed();
            if (!_heads.TryGetValue(key, out var head))
                _heads[key] = head = Speculative.EagleHead.Load(directory, Target.Config, Target.Compute);
            return head;
        }
    }

    /// <summary>FR-Spec's LM head for a draft vocabulary: the target head's rows gathered once, shared by every session.</summary>
    internal LmHead DraftHead(DraftVocabulary vocabulary)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            if (!_draftHeads.TryGetValue(vocabulary, out var head))
                _draftHeads[vocabulary] = head = Target.Head.Subset(vocabulary);
            return head;
        }
    }

    /// <summary>The EAGLE-3 head of a directory, loaded on first use for this target and shared by every session.</summary>
    internal Eagle3Head Eagle3Head(string directory) =>
        Shared($"eagle3:{Key(directory)}", () => Speculative.Eagle3Head.Load(directory, Target.Config, Target.Compute));

    /// <summary>An EAGLE-3 head's draft LM head: its own over the draft vocabulary, or only the rows whose tokens are in
    /// <paramref name="vocabulary"/> (FR-Spec on top of EAGLE-3's own cut).</summary>
    internal LmHead Eagle3DraftHead(string directory, DraftVocabulary? vocabulary)
    {
        var head = Eagle3Head(directory);
        if (vocabulary == null) return head.Head;
        return Shared($"eagle3-head:{Key(directory)}:{vocabulary.Fingerprint}", () =>
        {
            var keep = new HashSet<int>(vocabulary.Ids);
            var rows = Enumerable.Range(0, head.TokenIds.Length).Where(i => keep.Contains(head.TokenIds[i])).ToArray();
            if (rows.Length == 0) throw new FrSpecException($"the FR-Spec subset ({vocabulary}) shares no token with the EAGLE-3 head's draft vocabulary ({head.Source})");
            return head.Head.SelectRows(rows, rows.Select(i => head.TokenIds[i]).ToArray());
        });
    }

    /// <summary>
    /// A draft model (directory or .gguf), loaded on first use with this model's options and shared by every session,
    /// after checking that its tokenizer matches this model's (<see cref="TokenizerCompatibility"/>).
    /// </summary>
    internal LanguageModel DraftModel(string path) => Shared($"draft:{Key(path)}", () =>
    {
        var draft = Load(path, Options);
        try
        {
            var t = Vocabulary.Tokenizer ?? throw new FrSpecException($"{Directory}: the target has no tokenizer, so a draft model's tokenizer cannot be checked against it");
            var d = draft.Vocabulary.Tokenizer ?? throw new FrSpecException($"{path}: the draft model has no tokenizer, so it cannot be checked against the target's");
            if (TokenizerCompatibility.Problem(t, Vocabulary.Size, d, draft.Vocabulary.Size) is string problem)
                throw new FrSpecException($"{path}: the draft model's tokenizer does not match the target's: {problem}");
            return draft;
        }
        catch { draft.Dispose(); throw; }
    });

    /// <summary>
    /// A draft model's LM head for drafting: the rows of tokens the target also has (ids below both vocabulary sizes),
    /// cut to <paramref name="vocabulary"/> (FR-Spec) when given. The draft's full head when nothing needs cutting.
    /// </summary>
    internal LmHead DraftModelHead(string path, DraftVocabulary? vocabulary)
    {
        var draft = DraftModel(path).Target;
        int shared = Math.Min(draft.Config.VocabSize, Target.Config.VocabSize);
        if (vocabulary == null && shared == draft.Config.VocabSize) return draft.Head;
        return Shared($"draft-head:{Key(path)}:{vocabulary?.Fingerprint ?? "all"}", () =>
        {
            var ids = vocabulary == null ? Enumerable.Range(0, shared).ToArray() : vocabulary.Ids.Where(id => id < shared).ToArray();
            if (ids.Length == 0) throw new FrSpecException($"the FR-Spec subset ({vocabulary}) has no token inside the draft model's vocabulary");
            return draft.Head.SelectRows(ids, ids);
        });
    }

    /// <summary>The Medusa heads of a directory, loaded on first use for this target and shared by every session.</summary>
    internal MedusaHeads Medusa(string directory) => Shared($"medusa:{Key(directory)}", () => MedusaHeads.Load(directory, Target.Config));

    /// <summary>
    /// Each Medusa head's LM head: its own (or the target's, for heads without one), cut to <paramref name="vocabulary"/>
    /// (FR-Spec) when given, as the FR-Spec paper does for Medusa.
    /// </summary>
    internal IReadOnlyList<LmHead> MedusaLmHeads(string directory, DraftVocabulary? vocabulary)
    {
        var heads = Medusa(directory);
        var result = new LmHead[heads.Count];
        for (int k = 0; k < heads.Count; k++)
        {
            var weight = heads.HeadWeights[k];
            if (weight == null) { result[k] = vocabulary == null ? Target.Head : DraftHead(vocabulary); continue; }
            int head = k;
            var full = Shared($"medusa-head:{Key(directory)}:{k}", () => new LmHead(Target.Compute, weight));
            result[k] = vocabulary == null ? full : Shared($"medusa-head:{Key(directory)}:{head}:{vocabulary.Fingerprint}", () => full.Subset(vocabulary));
        }
        return result;
    }

    private static string Key(string path) => Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));

    /// <summary>A part made once per key under the model's lock and kept until the model is disposed.</summary>
    private T Shared<T>(string key, Func<T> create) where T : class, IDisposable
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            if (_parts.TryGetValue(key, out var part)) return (T)part;
            var made = create();
            _parts[key] = made;
            _partOrder.Add(made);
            return made;
        }
    }

    /// <summary>
    /// What speculation costs for a drafter (the EAGLE-2/3 head or draft model at <paramref name="headDirectory"/>) and
    /// its draft vocabularies on this machine (<see cref="CostProfile"/>): the target's side is measured once per loaded
    /// model and bounds and shared by every drafter, the drafter's once per head, bounds and vocabulary sizes; the first session that needs a part measures it (others wait), or reads it from
    /// <paramref name="cacheDirectory"/> when an earlier run measured the same files on the same machine and options.
    /// </summary>
    internal CostProfile TreeCosts(string headDirectory, ITunableDrafter drafter, string? cacheDirectory)
    {
        var bounds = drafter.Bounds;
        var target = Cached(CostProfileStore.TargetKey(Directory, bounds, Options), cacheDirectory, () => CostCalibration.MeasureTarget(Target, bounds));
        var draft = Cached(CostProfileStore.DraftKey(Directory, headDirectory, drafter.VariantSizes, bounds, Options), cacheDirectory,
            () => CostCalibration.MeasureDraft(drafter, Target.Config.VocabSize));
        return new CostProfile(target, draft);
    }

    private T Cached<T>(string key, string? cacheDirectory, Func<T> measure) where T : class, ICachedCosts
    {
        Lazy<object> lazy;
        lock (_gate)
        {
            ThrowIfDisposed();
            if (!_treeCosts.TryGetValue(key, out lazy!))
                _treeCosts[key] = lazy = new Lazy<object>(() => CostProfileStore.GetOrMeasure(cacheDirectory, key, measure));
        }
        return (T)lazy.Value;
    }

    /// <summary>
    /// The acceptance the automatic tree learned with the drafter at <paramref name="draftPath"/> and the draft vocabularies
    /// <paramref name="variants"/> (<see cref="AcceptanceMemory"/>): one per key for the model's lifetime, shared by its
    /// sessions, read from and written to <paramref name="cacheDirectory"/> when given.
    /// </summary>
    internal AcceptanceMemory Acceptance(string draftPath, IReadOnlyList<string> variants, int depths, int ranks, string? cacheDirectory)
    {
        string key = AcceptanceMemory.KeyOf(Directory, draftPath, variants, depths, ranks);
        lock (_gate)
        {
            ThrowIfDisposed();
            string slot = $"{key}folder: {cacheDirectory}\n";
            if (!_acceptance.TryGetValue(slot, out var memory))
                _acceptance[slot] = memory = new AcceptanceMemory(key, cacheDirectory, variants.Count, depths, ranks);
            return memory;
        }
    }

    /// <summary>The continuous-batching scheduler that streamed vanilla generations share, started on first use.</summary>
    internal BatchScheduler Scheduler
    {
        get
        {
            lock (_gate)
            {
                ThrowIfDisposed();
                return _scheduler ??= new BatchScheduler(Target);
            }
        }
    }

    internal void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed), this);

    /// <summary>Marks a generation as running (refused once the model is disposed); pair with <see cref="EndGeneration"/>.</summary>
    internal void BeginGeneration()
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            _running++;
        }
    }

    internal void EndGeneration()
    {
        lock (_gate)
        {
            if (--_running == 0) Monitor.PulseAll(_gate);
        }
    }

    /// <summary>
    /// Frees the weights, the EAGLE heads and the FR-Spec heads, after waiting for generations in progress to end
    /// (so never call it from a generation's own token callback); sessions of this model refuse to run afterwards.
    /// </summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            Volatile.Write(ref _disposed, true);
            while (_running > 0) Monitor.Wait(_gate);
            _scheduler?.Dispose();
            foreach (var memory in _acceptance.Values) memory.Flush(); // the next run starts where this one ended
            for (int i = _partOrder.Count - 1; i >= 0; i--) _partOrder[i].Dispose();
            _partOrder.Clear();
            _parts.Clear();
            foreach (var h in _draftHeads.Values) h.Dispose();
            foreach (var h in _heads.Values) h.Dispose();
            _draftHeads.Clear();
            _heads.Clear();
            Target.Dispose();
        }
    }
}
