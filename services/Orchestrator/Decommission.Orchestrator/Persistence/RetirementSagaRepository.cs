using Decommission.Orchestrator.StateMachines;
using MassTransit;
using MassTransit.Configuration;
using MassTransit.Context;
using MassTransit.Saga;

namespace Decommission.Orchestrator.Persistence;

/// <summary>Plugs <see cref="RetirementSagaStore"/> into MassTransit through its repository hook, as its Dapper and Redis stores do.</summary>
public static class RetirementSagaRepository
{
    public static ISagaRegistrationConfigurator<Retirement> StoreRepository(this ISagaRegistrationConfigurator<Retirement> configurator)
    {
        configurator.Repository(r => r.RegisterSagaRepository<Retirement, RetirementSagaStore,
            SagaConsumeContextFactory<RetirementSagaStore, Retirement>, RetirementSagaRepositoryContextFactory>());
        return configurator;
    }
}

/// <summary>Gives each consumed message a repository context over the store (SQLite or PostgreSQL).</summary>
public sealed class RetirementSagaRepositoryContextFactory(
    RetirementSagaStore store,
    ISagaConsumeContextFactory<RetirementSagaStore, Retirement> factory) : ISagaRepositoryContextFactory<Retirement>
{
    public void Probe(ProbeContext context) => context.Add("persistence", store.Dialect.ToString().ToLowerInvariant());

    public Task Send<T>(ConsumeContext<T> context, IPipe<SagaRepositoryContext<Retirement, T>> next)
        where T : class =>
        next.Send(new RetirementSagaRepositoryContext<T>(store, context, factory));

    public Task SendQuery<T>(ConsumeContext<T> context, ISagaQuery<Retirement> query, IPipe<SagaRepositoryQueryContext<Retirement, T>> next)
        where T : class =>
        throw new NotSupportedException("Retirement events correlate by id; the store answers no saga queries.");
}

internal sealed class RetirementSagaRepositoryContext<TMessage> : ConsumeContextScope<TMessage>, SagaRepositoryContext<Retirement, TMessage>
    where TMessage : class
{
    private readonly RetirementSagaStore store;
    private readonly ConsumeContext<TMessage> consumeContext;
    private readonly ISagaConsumeContextFactory<RetirementSagaStore, Retirement> factory;

    public RetirementSagaRepositoryContext(RetirementSagaStore store, ConsumeContext<TMessage> consumeContext,
        ISagaConsumeContextFactory<RetirementSagaStore, Retirement> factory)
        : base(consumeContext, store)
    {
        this.store = store;
        this.consumeContext = consumeContext;
        this.factory = factory;
    }

    public Task<SagaConsumeContext<Retirement, T>> CreateSagaConsumeContext<T>(ConsumeContext<T> context, Retirement instance, SagaConsumeContextMode mode)
        where T : class =>
        factory.CreateSagaConsumeContext(store, context, instance, mode);

    public Task<SagaConsumeContext<Retirement, TMessage>> Add(Retirement instance) =>
        factory.CreateSagaConsumeContext(store, consumeContext, instance, SagaConsumeContextMode.Add);

    public async Task<SagaConsumeContext<Retirement, TMessage>> Insert(Retirement instance)
    {
        if (!await store.InsertAsync(instance, CancellationToken))
            return default!;
        return await factory.CreateSagaConsumeContext(store, consumeContext, instance, SagaConsumeContextMode.Insert);
    }

    public async Task<SagaConsumeContext<Retirement, TMessage>> Load(Guid correlationId)
    {
        var instance = await store.LoadAsync(correlationId, CancellationToken);
        return instance is null
            ? default!
            : await factory.CreateSagaConsumeContext(store, consumeContext, instance, SagaConsumeContextMode.Load);
    }

    public async Task Save(SagaConsumeContext<Retirement> context)
    {
        if (!await store.InsertAsync(context.Saga, CancellationToken))
            throw new ConcurrencyException("Retirement was saved by another consumer first", typeof(Retirement), context.Saga.CorrelationId);
    }

    public Task Update(SagaConsumeContext<Retirement> context) => store.UpdateAsync(context.Saga, CancellationToken);

    public Task Delete(SagaConsumeContext<Retirement> context) => store.DeleteAsync(context.Saga, CancellationToken);

    public Task Discard(SagaConsumeContext<Retirement> context) => Task.CompletedTask;

    public Task Undo(SagaConsumeContext<Retirement> context) => Task.CompletedTask;
}
