"""The audit vocabulary: every action written to the trail, and the areas (`kind`) it is filed under.

Names are dotted, `<area>.<past-tense verb>`, lower case. Add a name here before writing it: the
admin's action filter lists exactly these (a DISTINCT over millions of rows is not an option), and
auditors read this list to know what the trail can contain (tests/audits/test_vocabulary.py
checks that every name the code records is listed). Every event has `status`
`success` or `failure`; a refused attempt is the same action with `status="failure"`.
"""

ACTIONS: dict[str, str] = {
    # Authentication and sessions (accounts).
    "auth.login": "Login (sucesso ou falha; guarda o identificador tentado, nunca a senha)",
    "auth.logout": "Saída (encerrou a própria sessão)",
    "auth.password_changed": "Troca de senha (falha: senha atual incorreta)",
    "auth.session_revoked": "Sessão revogada (pela própria pessoa ou por um administrador)",
    "auth.locked_out": "Bloqueio por tentativas de login (um evento por bloqueio e janela)",
    "auth.lockout_lifted": "Bloqueio de login suspenso (manage.py unlock_login)",
    "user.deactivated": "Usuário desativado",
    # Staff acts in the admin (accounts.services); details keep before → after, never a password.
    "user.created": "Usuário criado pela administração",
    "user.changed": "Usuário alterado pela administração (campos, papéis e permissões)",
    "user.password_set": "Senha definida pela administração (a pessoa deve trocá-la)",
    "group.created": "Grupo criado (superusuário)",
    "group.changed": "Permissões ou nome de grupo alterados (superusuário)",
    # Automation runs (submissions); `kind` is the automation slug.
    "submission.created": "Execução criada",
    "submission.started": "Execução iniciada",
    "submission.completed": "Execução concluída",
    "submission.failed": "Execução com erro",
    "submission.retried": "Execução reenviada",
    "submission.requeued": "Execução devolvida à fila (o worker parou)",
    "submission.retry_scheduled": "Nova tentativa agendada (falha passageira)",
    "submission.deleted": "Execução excluída (retirada pelo autor ou pela administração)",
    "submission.file_downloaded": "Arquivo de resultado baixado",
    "submission.pruned": "Execuções antigas removidas",
    "submission.files_cleaned": "Limpeza de arquivos de resultado órfãos",
    # The task queue (django-tasks-db rows), kept by run_maintenance and requeue_stale.
    "task.reaped": "Tarefa marcada como falha (o worker que a executava parou)",
    "task.pruned": "Resultados antigos de tarefas removidos",
    # Temporary file-share links (fileshare).
    "fileshare.uploaded": "Arquivo enviado (pela API, ou envio direto concluído)",
    "fileshare.upload_started": "Envio direto ao S3 iniciado (cota reservada)",
    "fileshare.upload_refused": "Envio direto recusado na conclusão (tamanho, tipo ou SHA-256; objeto apagado)",
    "fileshare.upload_aborted": "Envio direto cancelado (pelo dono, ou abandonado e cancelado pela limpeza)",
    "fileshare.downloaded": "Arquivo baixado",
    "fileshare.download_denied": "Download recusado",
    "fileshare.link_rotated": "Link trocado",
    "fileshare.deleted": "Arquivo removido",
    "fileshare.expired": "Arquivo expirado",
    "fileshare.cleanup": "Limpeza de arquivos (um lote de expirados, órfãos ou excluídos há muito)",
    # The trail itself.
    "audit.pruned": "Eventos antigos de auditoria removidos (manage.py prune_audits)",
    "audit.sealed": "Trilha de auditoria selada (manage.py seal_audits): intervalo, raiz Merkle e encadeamento",
}

# Areas that are not automations. Submission events use the automation slug as their kind.
KINDS: dict[str, str] = {
    "auth": "Autenticação",
    "users": "Usuários",
    "fileshare": "Compartilhamento de arquivos",
    "audit": "Auditoria",
    "tasks": "Fila de tarefas",
    "form2json": "Automação form2json",
    "dfd": "Automação DFD (Documento de Formalização da Demanda)",
}

# How the admin labels the keys of an event's `details` (at any depth; a key not listed shows as
# itself). The keys stay English in the trail, the API and the CSV; these are for reading only.
DETAIL_LABELS: dict[str, str] = {
    # who and how
    "identifier": "Identificador informado", "email": "E-mail", "via": "Por meio de", "source": "Origem",
    "remember_me": "Manter conectado", "reason": "Motivo", "note": "Observação", "by_staff": "Pela equipe",
    "address": "Endereço IP", "scope": "Alcance", "failures": "Falhas", "until": "Até",
    # people, roles and sessions
    "user_id": "Usuário", "session_id": "Sessão", "sessions_revoked": "Sessões revogadas",
    "fields": "Campos alterados", "changes": "Alterações", "before": "Antes", "after": "Depois",
    "nome": "Nome", "cpf": "CPF", "roles": "Papéis", "is_active": "Ativo", "is_staff": "Acesso à administração",
    "is_superuser": "Superusuário", "must_change": "Deve trocar a senha", "usable": "Senha utilizável",
    "name": "Nome", "permissions_added": "Permissões adicionadas", "permissions_removed": "Permissões removidas",
    # submissions and the task queue
    "submission": "Submissão", "version": "Versão", "attempt": "Tentativa", "retry": "Reenvio",
    "status": "Situação", "previous_status": "Situação anterior", "error": "Erro", "files": "Arquivos",
    "run_after": "Nova tentativa após", "field": "Campo", "value": "Valor", "task": "Tarefa",
    "task_path": "Função da tarefa", "worker": "Worker",
    # shared files
    "size": "Tamanho (bytes)", "content_type": "Tipo de conteúdo", "ttl": "Validade (segundos)",
    "has_password": "Com senha", "max_downloads": "Limite de downloads", "step": "Etapa", "items": "Arquivos",
    "upload": "Envio direto", "uploads": "Envios diretos", "parts": "Partes",
    "declared_size": "Tamanho declarado (bytes)", "sha256_declared": "SHA-256 declarado",
    "part_size": "Tamanho das partes (bytes)",
    # batches: prune, cleanup and seals
    "cutoff": "Data de corte", "older_than_seconds": "Mais antigos que (segundos)", "deleted": "Removidos",
    "count": "Quantidade", "orphans": "Órfãos", "first_id": "Primeiro id", "last_id": "Último id",
    "partition": "Partição", "month": "Mês", "seal": "Selo", "last_at": "Último evento em",
    "root": "Raiz Merkle", "prev": "Hash do selo anterior", "hash": "Hash",
}
