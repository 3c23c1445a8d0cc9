using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FrSpec.Tests.Formats;

/// <summary>
/// llama.cpp itself (libllama and its ggml libraries from the LLamaSharp CPU backend package, version 0.30.0 as in the
/// peer benchmark; the portable "noavx" build, copied into the test output by the test project) through its C API: load
/// a GGUF the way llama.cpp's tools do, and run one batch with logits for every position. The parameter structs are
/// passed as opaque blocks of their C size, with only the fields set that the tests need (offsets from llama.h of that
/// version, the same LLamaSharp's bindings use). Null on machines without that build (not linux-x64).
/// </summary>
internal static unsafe class LlamaCppNative
{
    private const int ModelParamsBytes = 72, ContextParamsBytes = 160;
    private const int CtxNCtx = 0, CtxNBatch = 4, CtxNUbatch = 8, CtxThreads = 24, CtxThreadsBatch = 28, CtxTypeK = 104, CtxTypeV = 108;

    [StructLayout(LayoutKind.Sequential, Size = ModelParamsBytes)] private struct ModelParams { }
    [StructLayout(LayoutKind.Sequential, Size = ContextParamsBytes)] private struct ContextParams { }

    [StructLayout(LayoutKind.Sequential)]
    private struct Batch
    {
        public int NTokens;
        public int* Token;
        public float* Embd;
        public int* Pos;
        public int* NSeqId;
        public int** SeqId;
        public sbyte* Logits;
    }

    private sealed class Api
    {
        public delegate* unmanaged[Cdecl]<void> BackendInit;
        public delegate* unmanaged[Cdecl]<delegate* unmanaged[Cdecl]<int, byte*, void*, void>, void*, void> LogSet;
        public delegate* unmanaged[Cdecl]<ModelParams> ModelDefaultParams;
        public delegate* unmanaged[Cdecl]<byte*, ModelParams, nint> ModelLoad;
        public delegate* unmanaged[Cdecl]<nint, ulong> ModelNParams;
        public delegate* unmanaged[Cdecl]<nint, void> ModelFree;
        public delegate* unmanaged[Cdecl]<ContextParams> ContextDefaultParams;
        public delegate* unmanaged[Cdecl]<nint, ContextParams, nint> InitFromModel;
        public delegate* unmanaged[Cdecl]<nint, void> Free;
        public delegate* unmanaged[Cdecl]<int, int, int, Batch> BatchInit;
        public delegate* unmanaged[Cdecl]<Batch, void> BatchFree;
        public delegate* unmanaged[Cdecl]<nint, Batch, int> Decode;
        public delegate* unmanaged[Cdecl]<nint, int, float*> LogitsIth;
    }

    private static readonly Lazy<Api?> Library = new(Load);

    public static bool Available => Library.Value != null;

    private static Api? Load()
    {
        string dir = Path.Combine(AppContext.BaseDirectory, "llama");
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64 || !File.Exists(Path.Combine(dir, "libllama.so")))
            return null;
        // No RUNPATH in these libraries: loading them in dependency order lets each find the previous ones by soname.
        nint lib = 0;
        foreach (var name in new[] { "libggml-base.so", "libggml-cpu.so", "libggml.so", "libllama.so" })
            lib = NativeLibrary.Load(Path.Combine(dir, name));
        var api = new Api
        {
            BackendInit = (delegate* unmanaged[Cdecl]<void>)NativeLibrary.GetExport(lib, "llama_backend_init"),
            LogSet = (delegate* unmanaged[Cdecl]<delegate* unmanaged[Cdecl]<int, byte*, void*, void>, void*, void>)NativeLibrary.GetExport(lib, "llama_log_set"),
            ModelDefaultParams = (delegate* unmanaged[Cdecl]<ModelParams>)NativeLibrary.GetExport(lib, "llama_model_default_params"),
            ModelLoad = (delegate* unmanaged[Cdecl]<byte*, ModelParams, nint>)NativeLibrary.GetExport(lib, "llama_model_load_from_file"),
            ModelNParams = (delegate* unmanaged[Cdecl]<nint, ulong>)NativeLibrary.GetExport(lib, "llama_model_n_params"),
            ModelFree = (delegate* unmanaged[Cdecl]<nint, void>)NativeLibrary.GetExport(lib, "llama_model_free"),
            ContextDefaultParams = (delegate* unmanaged[Cdecl]<ContextParams>)NativeLibrary.GetExport(lib, "llama_context_default_params"),
            InitFromModel = (delegate* unmanaged[Cdecl]<nint, ContextParams, nint>)NativeLibrary.GetExport(lib, "llama_init_from_model"),
            Free = (delegate* unmanaged[Cdecl]<nint, void>)NativeLibrary.GetExport(lib, "llama_free"),
            BatchInit = (delegate* unmanaged[Cdecl]<int, int, int, Batch>)NativeLibrary.GetExport(lib, "llama_batch_init"),
            BatchFree = (delegate* unmanaged[Cdecl]<Batch, void>)NativeLibrary.GetExport(lib, "llama_batch_free"),
            Decode = (delegate* unmanaged[Cdecl]<nint, Batch, int>)NativeLibrary.GetExport(lib, "llama_decode"),
            LogitsIth = (delegate* unmanaged[Cdecl]<nint, int, float*>)NativeLibrary.GetExport(lib, "llama_get_logits_ith"),
        };
        api.LogSet(&Silent, null);
        api.BackendInit();
        return api;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void Silent(int level, byte* text, void* user) { }

    /// <summary>A model llama.cpp loaded (memory-mapped, as its tools load it), or a FrSpecException with the file named.</summary>
    public sealed class Model : IDisposable
    {
        private readonly Api _api;
        public nint Handle { get; private set; }

        public Model(string path)
        {
            _api = Library.Value ?? throw new InvalidOperationException("llama.cpp is not in the test output");
            var utf8 = System.Text.Encoding.UTF8.GetBytes(path + "\0");
            fixed (byte* p = utf8) Handle = _api.ModelLoad(p, _api.ModelDefaultParams());
            if (Handle == 0) throw new FrSpecException($"{path}: llama.cpp refused to load the model");
        }

        public ulong ParameterCount => _api.ModelNParams(Handle);

        /// <summary>Logits [tokens.Length, vocab] of one batch from position 0, F32 KV cache, 2 threads.</summary>
        public float[] Logits(int[] tokens, int vocab)
        {
            var cp = _api.ContextDefaultParams();
            byte* c = (byte*)&cp;
            uint n = (uint)Math.Max(64, tokens.Length);
            *(uint*)(c + CtxNCtx) = n; *(uint*)(c + CtxNBatch) = n; *(uint*)(c + CtxNUbatch) = n;
            *(int*)(c + CtxThreads) = 2; *(int*)(c + CtxThreadsBatch) = 2;
            *(int*)(c + CtxTypeK) = 0; *(int*)(c + CtxTypeV) = 0; // GGML_TYPE_F32 KV cache: the reference proper
            nint ctx = _api.InitFromModel(Handle, cp);
            if (ctx == 0) throw new FrSpecException("llama.cpp could not create a context");
            var batch = _api.BatchInit(tokens.Length, 0, 1);
            try
            {
                for (int i = 0; i < tokens.Length; i++)
                {
                    batch.Token[i] = tokens[i]; batch.Pos[i] = i; batch.NSeqId[i] = 1; batch.SeqId[i][0] = 0; batch.Logits[i] = 1;
                }
                batch.NTokens = tokens.Length;
                int rc = _api.Decode(ctx, batch);
                if (rc != 0) throw new FrSpecException($"llama_decode returned {rc}");
                var logits = new float[tokens.Length * vocab];
                for (int i = 0; i < tokens.Length; i++) new ReadOnlySpan<float>(_api.LogitsIth(ctx, i), vocab).CopyTo(logits.AsSpan(i * vocab, vocab));
                return logits;
            }
            finally
            {
                _api.BatchFree(batch);
                _api.Free(ctx);
            }
        }

        public void Dispose()
        {
            if (Handle != 0) { _api.ModelFree(Handle); Handle = 0; }
        }
    }
}
