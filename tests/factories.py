import factory
from django.contrib.auth.models import Group

from accounts.models import User

DEFAULT_PASSWORD = "S3nha-de-teste-forte"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"pessoa{n}@agepar.go.gov.br")
    nome = factory.Sequence(lambda n: f"Pessoa {n}")
    must_change_password = False
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if extracted:
            self.groups.set([Group.objects.get_or_create(name=name)[0] for name in extracted])
        if create:
            self.save()
