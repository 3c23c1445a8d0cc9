using System.Diagnostics;
using FrSpec.Generation;
using FrSpec.Model;

namespace FrSpec.Speculative;

/// <summary>
/// EAGLE-2 speculative decoding, optionally with an FR-Spec draft vocabulary. Each round the drafter proposes a
/// token tree rooted at the last target token; the target verifies the whole tree in one forward pass with a tree
/// attention mask; the accepted path plus one bonus token are emitted; the target cache keeps only the accepted path
/// and the drafter consumes the accepted (feature, next token) pairs. Greedy output equals the target's greedy
/// output; sampled output has exactly the target's distribution (docs/exactness.md).
/// </summary>
public sealed class SpeculativeDecoder : IDecoder, IDisposable
{
    private readonly Transformer _target;
    private readonly IDrafter _drafter;
    private readonly TreeOptions _tree;
    private readonly IDisposable[] _owned;
    private readonly DraftTree _draft;
    private readonly TreeVerifier _verifier;
    private readonly AttentionMask _mask = new(0, 0, 0);
    private readonly float[] _logits, _features, _probs;
    private readonly NodeLogits _nodeLogits;
    private readonly int[] _positions, _path, _pairTokens;
    private KvCache? _cache;

    public string Name { get; }

    /// <summary>The acceptance rule for sampling; tests switch it to a wrong one to show the exactness test can fail.</summary>
    internal AcceptanceRule Rule { get => _verifier.Rule; set => _verifier.Rule = value; }

    internal SpeculativeDecoder(Transformer target, IDrafter drafter, TreeOptions tree, string name, params IDisposable[] owned)
    {
        tree.Validate();
        _target = target; _drafter = drafter; _tree = tree; Name = name; _owned = owned;
        int t = tree.TotalTokens, v = target.Config.VocabSize, h = target.Config.HiddenSize;
        _draft = new DraftTree(t);
        _verifier = new TreeVerifier(v);
        _logits = new float[v];
        _nodeLogits = new NodeLogits(target.Head, h, t);
        _features = new float[t * h];
        _probs = new float[v];
        _positions = new int[t];
        _path = new int[t];
        _pairTokens = new int[t];
    }

    /// <summary>
    /// An EAGLE-2 decoder for <paramref name="target"/> with the head in <paramref name="eagleDir"/>. With
    /// <paramref name="frIds"/> (distinct token ids, most frequent first) the draft LM head is FR-Spec's subset of the
    /// target head's rows; null = the full vocabulary (plain EAGLE-2).
    /// </summary>
    public static SpeculativeDecoder Create(Transformer target, string eagleDir, int[]? frIds = null, TreeOptions? tree = null)
    {
        var head = EagleHead.Load(eagleDir, target.Config, target.Compute);
        try { return Create(target, head, frIds, tree, ownsHead: true); }
        catch { head.Dispose(); throw; }
    }

    /// <summary>As <see cref="Create(Transformer, string, int[], TreeOptions)"/> with an already loaded head.</summary>
    public static SpeculativeDecoder Create(Transformer target, EagleHead head, int[]? frIds, TreeOptions? tree, bool ownsHead = false)
    {
        tree ??= TreeOptions.Default;
        tree.Validate();
        LmHead draftHead = frIds == null ? target.Head : target.Head.Subset(ValidateSubset(frIds, target.Config.VocabSize));
        var drafter = new EagleDrafter(head, target.Embedding, draftHead, tree, 512);
        string name = frIds == null ? "eagle2" : $"fr-{frIds.Length}";
        var owned = new List<IDisposable>();
        if (frIds != null) owned.Add(draftHead);
        if (ownsHead) owned.Add(head);
        return new SpeculativeDecoder(target, drafter, tree, name, owned.ToArray());
    }

    private static int[] ValidateSubset(int[] ids, int vocab)
    {
        if (ids.Length == 0) throw new FrSpecException("the FR-Spec vocabulary subset is empty");
        var seen = new bool[vocab];
        foreach (int id in ids)
        {
            if ((uint)id >= (uint)vocab) throw new FrSpecException($"FR-Spec subset token id {id} is outside the vocabulary of {vocab}");
            if (seen[id]) throw new FrSpecException($"FR-Spec subset lists token id {id} twice");
            seen[id] = true;
        }
        return ids;
    }

    public GenerationResult Generate(ReadOnlySpan<int> prompt, GenerationOptions options, Action<int>? onToken = null)
    {
        if (prompt.Length == 0) throw new FrSpecException("the prompt is empty");
        int h = _target.Config.HiddenSize, v = _target.Config.VocabSize;
        int capacity = prompt.Length + options.MaxNewTokens + _tree.TotalTokens + 2;
        if (_cache == null || _cache.Capacity < capacity) _cache = _target.CreateCache(Math.Max(capacity, 512));
        var cache = _cache;
        cache.Clear();
        var sampler = new Sampler(options.Sampling);
        var ids = new List<int>(options.MaxNewTokens);
        var accepts = new List<int>();
        bool stopped = false;

        // Prefill: target features for every prompt position, first token from the last one.
        var sw = Stopwatch.StartNew();
        var promptFeatures = new float[prompt.Length * h];
        var last = VanillaDecoder.Prefill(_target, cache, prompt, promptFeatures);
        _target.Head.Compute(last, 1, _logits);

        int root = sampler.Sample(_logits.AsSpan(0, v), _probs);
        bool Emit(int token)
        {
            ids.Add(token);
            onToken?.Invoke(token);
            if (options.StopIds.Contains(token)) { stopped = true; return false; }
            return ids.Count < options.MaxNewTokens;
        }
        bool more = options.MaxNewTokens > 0 && Emit(root);

        if (more)
        {
            // The drafter consumes pairs (f_t, x_{t+1}) for t = 0..L−1, the last one ending with the new root.
            if (_drafter is EagleDrafter eagle) eagle.EnsureCapacity(capacity);
            _drafter.Begin(prompt);
            var next = new int[prompt.Length];
            prompt[1..].CopyTo(next);
            next[^1] = root;
            _drafter.Extend(promptFeatures, next);
        }
        // The draft's prompt pass counts as prefill, as in EAGLE.
        double prefill = sw.Elapsed.TotalSeconds;
        var (layers0, head0) = _drafter.Time;
        sw.Restart();
        long verifyTicks = 0;

        while (more)
        {
            _drafter.Draft(root, _draft);
            int t = _draft.Count, committed = cache.Count;

            long t0 = Stopwatch.GetTimestamp();
            for (int i = 0; i < t; i++) _positions[i] = committed + _draft.Depths[i];
            _mask.Reset(committed, t, committed);
            _mask.FillTree(_draft.Parents.AsSpan(0, t));
            var hidden = _target.Forward(cache, _draft.Tokens.AsSpan(0, t), _positions.AsSpan(0, t), _mask);
            hidden.CopyTo(_features);
            _nodeLogits.Begin(_draft, _features);
            int length = _verifier.Accept(_draft, _nodeLogits, sampler, _path, out int bonus);
            verifyTicks += Stopwatch.GetTimestamp() - t0;
            cache.Commit(_path.AsSpan(0, length));

            // Emit the accepted drafts (the root was emitted last round) and the bonus.
            int emitted = 0;
            for (int j = 1; j < length && more; j++) { more = Emit(_draft.Tokens[_path[j]]); emitted++; }
            if (more) { more = Emit(bonus); emitted++; }
            accepts.Add(emitted);
            if (!more) break;

            // Pairs (f(a_j), a_{j+1}) along the path, the last one ending with the bonus.
            for (int j = 0; j < length; j++)
            {
                _features.AsSpan(_path[j] * h, h).CopyTo(_features.AsSpan(j * h, h)); // path nodes ascend, so j·h ≤ path[j]·h
                _pairTokens[j] = j + 1 < length ? _draft.Tokens[_path[j + 1]] : bonus;
            }
            _drafter.Extend(_features.AsSpan(0, length * h), _pairTokens.AsSpan(0, length));
            root = bonus;
        }

        double decode = sw.Elapsed.TotalSeconds;
        var (layers, head) = _drafter.Time;
        layers -= layers0; head -= head0;
        double verify = verifyTicks / (double)Stopwatch.Frequency;
        return new GenerationResult
        {
            Ids = ids.ToArray(), AcceptLengths = accepts.ToArray(), PrefillSeconds = prefill, DecodeSeconds = decode,
            Time = new TimeSplit { DraftLayers = layers, DraftLmHead = head, Verify = verify, Other = Math.Max(0, decode - layers - head - verify) },
            StoppedByStopId = stopped,
        };
    }

    public void Dispose()
    {
        foreach (var d in _owned) d.Dispose();
    }
}
