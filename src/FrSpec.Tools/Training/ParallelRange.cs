using FrSpec.Numerics;

namespace FrSpec.Training;

/// <summary>Runs a delegate over [0, n) in chunks on the shared <see cref="WorkerPool"/> (training code may allocate a little per call).</summary>
internal static class ParallelRange
{
    private sealed class DelegateJob(Action<int, int> body) : IRangeJob
    {
        public void Execute(int start, int end) => body(start, end);
    }

    public static void For(int n, Action<int, int> body, int minChunk = 1) => WorkerPool.Shared.For(n, new DelegateJob(body), minChunk);
}
