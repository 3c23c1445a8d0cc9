using FrSpec.Generation;
using FrSpec.Model;
using FrSpec.Speculative;

namespace FrSpec.Sessions;

/// <summary>
/// Medusa-1 heads with a static tree, every head's LM head cut to <see cref="Vocabulary"/> (FR-Spec) when set.
/// <see cref="TypicalAcceptance"/>: Medusa's typical acceptance when sampling (not distribution-exact; the name says
/// "-typical"); otherwise the exact rule every drafter uses.
/// </summary>
public sealed record MedusaMethod(string HeadDirectory, DraftVocabulary? Vocabulary, MedusaTree Tree, bool TypicalAcceptance) : DecodingMethod
{
    public override string Name => Named("medusa", Vocabulary) + (TypicalAcceptance ? "-typical" : "");

    internal override IDecoder CreateDecoder(LanguageModel model, ISampledAcceptance? acceptance)
    {
        var heads = model.Medusa(HeadDirectory);
        var drafter = new MedusaDrafter(heads, model.MedusaLmHeads(HeadDirectory, Vocabulary), Tree, model.Target.Compute);
        ITreeAcceptor? acceptor = TypicalAcceptance ? new TypicalAcceptor(model.Target.Config.VocabSize, drafter.MaxTreeTokens) : null;
        return new SpeculativeDecoder(model.Target, drafter, Name, acceptance, acceptor);
    }
}
