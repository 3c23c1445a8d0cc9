using FrSpec.Generation;
using FrSpec.Sessions;
using FrSpec.Speculative;
using FrSpec.Tests.Speculative;

namespace FrSpec.Tests.Sessions;

/// <summary>
/// One loaded model serves many sessions at once: each session owns its caches and scratch, the weights are shared
/// and never written, so concurrent sessions produce exactly what they produce alone. Misusing one session from two
/// threads is refused, never corrupting.
/// </summary>
public class ConcurrencyTests
{
    private static readonly int[][] Prompts = [[1, 2, 3], [17, 300, 5, 42, 99, 7, 250], [400, 12], [8, 8, 8, 8, 9]];
    private static readonly TreeOptions Tree = new() { Depth = 3, TopK = 4, TotalTokens = 12 };

    private static GenerationOptions Options(int prompt, bool sampled) => new()
    {
        MaxNewTokens = 40,
        StopIds = [],
        Sampling = sampled ? new SamplingOptions(0.9f, 0, 0.95f, Seed: (ulong)(prompt + 1)) : SamplingOptions.Greedy,
    };

    [Fact]
    public void FourThreadsOnOneModelMatchTheirSingleThreadedResults()
    {
        using var model = LanguageModel.Load(TinyModels.Target("llama3", false, 151));
        string head = TinyModels.Head(model.Directory, 152);
        var methods = new[]
        {
            DecodingMethod.Vanilla,
            DecodingMethod.Eagle(head, model.Vocabulary.CreateDraftVocabulary(Enumerable.Range(0, 256)), Tree),
        };
        var cases = (from m in methods from p in Enumerable.Range(0, Prompts.Length) from sampled in new[] { false, true } select (m, p, sampled)).ToList();

        // alone: one session at a time on this thread
        var expected = cases.ToDictionary(c => c, c =>
        {
            using var s = model.CreateSession(c.m);
            return s.Generate(Prompts[c.p], Options(c.p, c.sampled)).Ids;
        });

        // together: four threads, each with its own sessions, all started at once and repeated
        const int Threads = 4, Rounds = 3;
        using var start = new Barrier(Threads);
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        var workers = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
        {
            var sessions = methods.Select(m => model.CreateSession(m)).ToArray();
            start.SignalAndWait();
            try
            {
                for (int round = 0; round < Rounds; round++)
                    foreach (var c in cases.Where(c => c.p == t))
                    {
                        var ids = sessions[Array.IndexOf(methods, c.m)].Generate(Prompts[c.p], Options(c.p, c.sampled)).Ids;
                        if (!ids.SequenceEqual(expected[c])) failures.Add($"thread {t} round {round}: {c.m.Name} prompt {c.p} sampled {c.sampled}");
                    }
            }
            catch (Exception e) { failures.Add($"thread {t}: {e.GetType().Name}: {e.Message}"); }
        })).ToList();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.Join());
        Assert.Empty(failures);
        Assert.All(expected.Values, ids => Assert.Equal(40, ids.Length));
    }

    [Fact]
    public async Task OneSessionUsedFromTwoThreadsThrowsAndTheRunningCallStaysCorrect()
    {
        using var model = LanguageModel.Load(TinyModels.Target("llama3", true, 153));
        using var session = model.CreateSession(DecodingMethod.Eagle(TinyModels.Head(model.Directory, 154), null, Tree));
        var options = Options(0, sampled: false);
        var expected = model.CreateSession().Generate(Prompts[0], options).Ids;

        using var inside = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var running = Task.Run(() => session.Generate(Prompts[0], options, _ => { inside.Set(); release.Wait(); }));
        Assert.True(inside.Wait(TimeSpan.FromSeconds(30)));
        var e = Assert.Throws<InvalidOperationException>(() => session.Generate(Prompts[1], options));
        Assert.Contains("already generating", e.Message);
        release.Set();
        Assert.Equal(expected, (await running).Ids);
        Assert.Equal(expected, session.Generate(Prompts[0], options).Ids); // usable again afterwards
    }

    [Fact]
    public void ForwardStateRefusesASecondPassAndAnotherModelsState()
    {
        using var model = LanguageModel.Load(TinyModels.Target("llama3", true, 155));
        using var other = LanguageModel.Load(TinyModels.Target("qwen2", false, 156));
        var target = model.Target;
        var state = target.CreateState();
        var cache = target.CreateCache(16);
        var pass = state.Enter(target);
        try { Assert.Throws<InvalidOperationException>(() => target.Forward(state, cache, [1], [0])); }
        finally { pass.Dispose(); }
        Assert.Equal(0, cache.Length); // the refused pass wrote nothing
        target.Forward(state, cache, [1], [0]);
        Assert.Throws<ArgumentException>(() => other.Target.Forward(state, other.Target.CreateCache(4), [1], [0]));
    }

    [Fact]
    public void CancellationStopsBetweenStepsAndTheSessionRecovers()
    {
        using var model = LanguageModel.Load(TinyModels.Target("qwen2", false, 157));
        using var session = model.CreateSession(DecodingMethod.Eagle(TinyModels.Head(model.Directory, 158), null, Tree));
        var options = Options(1, sampled: false);
        var expected = session.Generate(Prompts[1], options).Ids;
        using var cts = new CancellationTokenSource();
        int seen = 0;
        Assert.ThrowsAny<OperationCanceledException>(() => session.Generate(Prompts[1], options, _ => { if (++seen == 3) cts.Cancel(); }, cts.Token));
        Assert.InRange(seen, 3, 3 + Tree.Depth + 2); // at most the round in progress finishes
        Assert.Equal(expected, session.Generate(Prompts[1], options).Ids);
    }

    [Fact]
    public void DisposedModelRefusesSessions()
    {
        var model = LanguageModel.Load(TinyModels.Target("llama3", true, 159));
        var session = model.CreateSession();
        model.Dispose();
        Assert.Throws<ObjectDisposedException>(() => session.Generate(Prompts[0], Options(0, false)));
        Assert.Throws<ObjectDisposedException>(() => model.CreateSession());
    }
}
