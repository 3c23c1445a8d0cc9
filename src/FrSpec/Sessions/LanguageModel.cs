using FrSpec.Model;
using FrSpec.Speculative;
using FrSpec.Speculative.AutoTree;

namespace FrSpec.Sessions;

/// <summary>
/// A model loaded once and shared: the target <see cref="Transformer"/>, its <see cref="ModelVocabulary"/> (tokenizer,
/// chat template, generation config, stop tokens, control ids) and the draft parts that sessions ask for (EAGLE heads
/// by directory, FR-Spec LM heads by vocabulary), each loaded once and kept until the model is disposed. Everything
/// here is immutable after loading and thread-safe; per-conversation state lives in the <see cref="ModelSession"/>s
/// that <see cref="CreateSession(DecodingMethod?)"/> makes, any number of which may run at once on different threads.
/// </summary>
public sealed class LanguageModel : IDisposable
{
    private readonly object _gate = new();
    private readonly Dictionary<string, EagleHead> _heads = new(StringComparer.Ordinal);
    private readonly Dictionary<DraftVocabulary, LmHead> _draftHeads = new();
    private readonly Dictionary<string, Lazy<object>> _treeCosts = new(StringComparer.Ordinal);
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

    /// <summary>
    /// What speculation costs for a head and its draft vocabularies on this machine (<see cref="CostProfile"/>): the target's
    /// side is measured once per loaded model and bounds and shared by every drafter, the drafter's once per head and
    /// vocabulary sizes; the first session that needs a part measures it (others wait), or reads it from
    /// <paramref name="cacheDirectory"/> when an earlier run measured the same files on the same machine and options.
    /// </summary>
    internal CostProfile TreeCosts(string headDirectory, ITunableDrafter drafter, string? cacheDirectory)
    {
        var bounds = drafter.Bounds;
        var target = Cached(CostProfileStore.TargetKey(Directory, bounds, Options), cacheDirectory, () => CostCalibration.MeasureTarget(Target, bounds));
        var draft = Cached(CostProfileStore.DraftKey(Directory, headDirectory, drafter.VariantSizes, bounds, Options), cacheDirectory,
            () => CostCalibration.MeasureDraft(drafter, Target.Config.VocabSize, Target.Config.HiddenSize));
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
            foreach (var h in _draftHeads.Values) h.Dispose();
            foreach (var h in _heads.Values) h.Dispose();
            _draftHeads.Clear();
            _heads.Clear();
            Target.Dispose();
        }
    }
}
