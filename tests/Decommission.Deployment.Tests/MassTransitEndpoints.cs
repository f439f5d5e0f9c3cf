using MassTransit;
using MassTransit.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Decommission.Deployment.Tests;

/// <summary>The receive endpoints a built host would configure, read from its MassTransit registrations (nothing started):
/// each endpoint's name with the message types (as Namespace:Name) its consumers and sagas take.</summary>
public static class MassTransitEndpoints
{
    public static Dictionary<string, List<string>> Of(IServiceProvider services)
    {
        var context = services.GetRequiredService<IBusRegistrationContext>();
        var formatter = KebabCaseEndpointNameFormatter.Instance;
        var endpoints = new Dictionary<string, List<string>>();

        foreach (var consumer in services.GetServices<IConsumerRegistration>())
        {
            var messages = consumer.Type.GetInterfaces()
                .Where(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IConsumer<>))
                .Select(i => i.GetGenericArguments()[0]);
            Add(endpoints, consumer.GetDefinition(context).GetEndpointName(formatter), messages);
        }

        foreach (var saga in services.GetServices<ISagaRegistration>())
        {
            var machine = (StateMachine)services.GetRequiredService(typeof(SagaStateMachine<>).MakeGenericType(saga.Type));
            var messages = machine.Events.Select(e => e.GetType().GetInterfaces()
                .Single(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(Event<>)).GetGenericArguments()[0]);
            Add(endpoints, saga.GetDefinition(context).GetEndpointName(formatter), messages);
        }
        return endpoints;
    }

    private static void Add(Dictionary<string, List<string>> endpoints, string name, IEnumerable<Type> messages)
    {
        if (!endpoints.TryGetValue(name, out var list))
            endpoints[name] = list = [];
        list.AddRange(messages.Select(t => $"{t.Namespace}:{t.Name}").Where(m => !list.Contains(m)));
    }
}
