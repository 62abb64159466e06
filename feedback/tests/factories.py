import datetime as dt

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from feedback.models import Customer, Feedback, Product


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(Group.objects.get(name=extracted))
        if create:
            self.save()


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Product {n}")
    slug = factory.Sequence(lambda n: f"product-{n}")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"Customer {n}")
    email = factory.LazyAttribute(lambda c: f"{c.name.lower().replace(' ', '.')}@example.com")
    kind = Customer.Kind.EXTERNAL

    class Params:
        internal = factory.Trait(kind=Customer.Kind.INTERNAL, department="Finance")


class FeedbackFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Feedback

    channel = Feedback.Channel.FORM
    source = "web form"
    text = factory.Sequence(lambda n: f"Feedback number {n}: the service was fine.")
    received_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(hours=1))
